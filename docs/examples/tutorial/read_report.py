"""Check a JSON gate report against its schema, then print the verdict and the reasons."""

import json
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

from pytest_staging import schemas

report = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
Draft202012Validator(schemas.load("report-v1")).validate(report)
print(report["verdict"], report["exit_code"])
for reason in report["reasons"]:
    print(reason)
