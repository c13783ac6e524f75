"""moto's server with its Kinesis shards made safe for concurrent writes.

moto gives a record the sequence number "highest so far + 1" without a lock (its source says
"this function is not safe for concurrency"), and its server is threaded: two PutRecords handled
at the same moment can give two records one number, and the second overwrites the first. The
emulator then loses a record that Kinesis would have kept. hookloop's tests and `make run` start
moto through this file, which serialises that one function; everything else is moto unchanged.
"""

import sys
import threading

from moto.kinesis import models

_lock = threading.Lock()
_put_record = models.Shard.put_record


def _locked_put_record(self, *args, **kwargs):
    with _lock:
        return _put_record(self, *args, **kwargs)


models.Shard.put_record = _locked_put_record

from moto.server import main  # noqa: E402  (after the patch)

if __name__ == "__main__":
    sys.exit(main())
