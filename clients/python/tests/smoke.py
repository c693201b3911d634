"""End-to-end check of the client against a running API (run by packages/api's token.test.ts).

Usage: python3 smoke.py URL TOKEN DATASET_ID REVOKED_TOKEN
Prints one JSON object with what it saw; exits non-zero on any unexpected outcome.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from opencohort import AuthError, Client, QueryRefused  # noqa: E402

url, token, dataset_id, revoked = sys.argv[1:5]
client = Client(url, token)
seen = {}

datasets = client.datasets()
seen["datasets"] = [item["id"] for item in datasets]
detail = client.dataset(dataset_id)
seen["tables"] = [table["name"] for table in (detail.get("dataCard") or {}).get("tables", [])]
seen["concepts"] = client.concepts(dataset_id, "diabetes", limit=3)["concepts"]

result = client.query(dataset_id, "SELECT sex, count(*) AS n FROM person GROUP BY sex")
seen["columns"] = result.columns
seen["rows"] = result.rows
seen["receiptHash"] = (result.receipt or {}).get("receiptHash")
seen["uncertainty"] = result.uncertainty
seen["notice"] = result.notice
# A question asked for the first time is charged (epsilon and its zCDP rho); asked again
# identically it is answered from the stored result at no cost.
CHARGED_ONCE = "SELECT sex, count(*) AS n FROM person WHERE year_of_birth >= 1960 GROUP BY sex"
first, again = client.query(dataset_id, CHARGED_ONCE), client.query(dataset_id, CHARGED_ONCE)
seen["cost"] = [{"epsilon": r.epsilon_spent, "rho": r.rho, "mechanism": r.mechanism,
                 "repeated": r.repeated, "rows": r.rows} for r in (first, again)]
seen["csv"] = client.result_csv(result.id)

try:
    client.query(dataset_id, "SELECT person_id, year_of_birth FROM person")
    seen["refusal"] = None
except QueryRefused as refusal:
    seen["refusal"] = {"rule": refusal.rule, "message": refusal.message}

try:
    Client(url, revoked).datasets()
    seen["revoked"] = None
except AuthError as error:
    seen["revoked"] = {"status": error.status, "message": error.message, "rule": error.rule}

print(json.dumps(seen))
