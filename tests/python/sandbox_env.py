"""What every SDK story needs from the sandbox: the environment `azprotect sandbox serve
--env-file` writes (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST,
AZURE_SUBSCRIPTION_ID, AZPROTECT_ARM_ENDPOINT, AZPROTECT_CA_CERT), azure-identity's credential
against the sandbox's authority, the keyword arguments every azure-mgmt client takes to reach
it, and `step`, which prints one line per step and stops at the first failure.
"""

import os
import sys
import time
import traceback

from azure.identity import ClientSecretCredential

ENV = os.environ
SUB = ENV["AZURE_SUBSCRIPTION_ID"]
ARM = ENV["AZPROTECT_ARM_ENDPOINT"]
CA = ENV["AZPROTECT_CA_CERT"]
# The sandbox, like Azure, names no polling delay: poll at its pace (a client setting).
POLL = float(ENV.get("AZPROTECT_POLL_INTERVAL_MS", "100")) / 1000.0

credential = ClientSecretCredential(
    ENV["AZURE_TENANT_ID"],
    ENV["AZURE_CLIENT_ID"],
    ENV["AZURE_CLIENT_SECRET"],
    authority=ENV["AZURE_AUTHORITY_HOST"],
    # The sandbox's authority is not one Microsoft Entra's instance discovery knows (the
    # documented option for private clouds and Azure Stack).
    disable_instance_discovery=True,
    connection_verify=CA,
)
COMMON = dict(
    base_url=ARM,
    credential_scopes=["https://management.azure.com/.default"],
    connection_verify=CA,
    polling_interval=POLL,
)


def step(name):
    def wrap(fn):
        def run(*args):
            started = time.monotonic()
            try:
                out = fn(*args)
            except Exception:  # noqa: BLE001 - report and stop at the first failure
                print(f"FAILED {name}", flush=True)
                traceback.print_exc()
                sys.exit(1)
            print(f"ok {name} ({time.monotonic() - started:.1f} s)", flush=True)
            return out

        return run

    return wrap
