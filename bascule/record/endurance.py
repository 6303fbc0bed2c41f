"""What an endurance run writes on its history, and reads back to judge it.

- CLIENT events of the uploaders (process FTP_UPLOADER or CURL_UPLOADER): op UPLOAD, outcome ok
  when the server acknowledged the file (226), fail when it refused or the connection broke, info
  when no answer came in time; value {"name", "sha256", "size", "served_by", "failed_at", "op"};
  op READ_BACK, a sample of earlier files read back as the run goes: value {"name", "sha256"}.
- RUN events of ENDURANCE: START {seed, duration_s, kinds, cluster}, PLANNED {index, kind, pause},
  RECOVERED {index, kind, label, recovered, waited, repairs, left}, SPLIT_BRAIN {kept, discarded,
  cut_at}, VERIFY {after, read: {name: sha256 or null}, listed: [names], unreadable: [names]},
  STOP {reason, faults}; REPLICA (after the final verification) {drbd: {node: {oos_kib, connection,
  disk, error}}, switched, served_by, took_s, error}, with the replica's read as a VERIFY {replica: true};
  STORAGE (at the start and the end) {resource, params: the file system
  resource's type and parameters (None: no such primitive), nodes: {name: {source, fstype, options,
  protocol} or {error}}, error}.
- FAULT events of the faults themselves (start, end), as in every scenario.
"""

from __future__ import annotations

ENDURANCE = "endurance"
FTP_UPLOADER, CURL_UPLOADER = "envois-ftp", "envois-curl"
UPLOAD, READ_BACK = "envoi", "relecture"
START, PLANNED, RECOVERED, SPLIT_BRAIN, VERIFY, STOP = (
    "debut",
    "panne-prevue",
    "retour",
    "split-brain-resolu",
    "verification",
    "fin",
)
STORAGE = "stockage"
REPLICA = "replique"
