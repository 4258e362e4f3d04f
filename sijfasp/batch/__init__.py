"""`sijfasp batch`: many cases in, one JSON line out per case, in input order.

Inputs are JSON Lines files (a case per line), directories of case files (.yaml, .yml, .json,
sorted by name), single case files, or `-` (JSON Lines on standard input). Each output line is
the object `sijfasp check CASE --format json` prints for that case, on one line; a case that
cannot be read or validated gives an error line naming its source and fields, and the batch
goes on.

The output is locked for the run (flock), and beside it OUTPUT.resume records the run's
options and, for each line, its case (source and content hash) and where the line is: --resume
reads both streaming, checks them against the input and the options, cuts only a partial line
it wrote itself, and refuses anything else.

The cases run in this process, in N local processes (`--workers N`), or on a Dask cluster
(`--engine dask`). Whatever runs them, the parent writes the lines in input order, each with
one write: a run stopped at any point leaves whole lines of finished cases (at worst a partial
last line, which `--resume` cuts before it goes on from the first case not written).

The modules, from the bottom: `evaluate` (one case: what a worker is sent and sends back),
`inputs` (the cases of the inputs), `journal` (the output, its lock and resume record),
`engines` (this process, local processes, Dask) and `command` (the options and the run).
Unlike a stage's package, this one names its public parts here: `sijfasp.batch` is imported
only to run a batch, which loads every module of it anyway.
"""

from .command import ENGINES, add_arguments, cores, in_order, is_batch, run
from .evaluate import Config, Item, Outcome, evaluate_item
from .inputs import CASE_FILE_SUFFIXES, check_inputs, read_items
from .journal import RECORD_SUFFIX, Done, Journal, check_output, record_path, run_header

__all__ = [
    "CASE_FILE_SUFFIXES",
    "ENGINES",
    "RECORD_SUFFIX",
    "Config",
    "Done",
    "Item",
    "Journal",
    "Outcome",
    "add_arguments",
    "check_inputs",
    "check_output",
    "cores",
    "evaluate_item",
    "in_order",
    "is_batch",
    "read_items",
    "record_path",
    "run",
    "run_header",
]
