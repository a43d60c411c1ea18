"""Subscriptions across processes: two servers on one PostgreSQL database;
an event written through one reaches a graphql-ws subscriber of the other
(clients/subscriptions-pair.mjs, the real client from clients/'s pinned
npm packages; clients/run.sh installs them).

    python3 hardening/live.py
"""

import argparse
import os
import subprocess

import lg

SECRET = "hardening-live-secret-0123456789abcdefgh"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        lg.build()
    if not os.path.isdir(os.path.join(lg.ROOT, "clients", "node_modules", "graphql-ws")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=os.path.join(lg.ROOT, "clients"), check=True)
    work, cleanup = lg.workdir()
    db = lg.Database("postgres", work)
    servers = [lg.Server(db.url, work, SECRET, name=f"live{i}") for i in (1, 2)]
    try:
        for s in servers:
            s.start()
        urls = [f"http://127.0.0.1:{s.port}/graphql" for s in servers]
        env = {**os.environ, "LICENSEGRAPH_JWT_SECRET": SECRET, "LICENSEGRAPH_DATABASE_URL": db.url}
        subprocess.run(["node", os.path.join(lg.ROOT, "clients", "subscriptions-pair.mjs"), *urls, lg.BIN],
                       env=env, check=True)
        for s in servers:
            if s.panicked():
                lg.fail("a server panicked")
    finally:
        for s in servers:
            s.stop()
        db.close()
        cleanup()


if __name__ == "__main__":
    main()
