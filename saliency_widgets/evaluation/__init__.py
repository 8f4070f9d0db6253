"""Run every explainer and metric over a set of images: resumable, with a progress bar.

One job per module, each importing only those below it:

* :mod:`.run`: :func:`evaluate`, the loop (the protocol is in its docstring);
* :mod:`.methods`: :func:`~.methods.resolve_methods`, which methods run and their names;
* :mod:`.score`: :func:`score_image`, the rows of one image (local loop and cluster alike);
* :mod:`.results_file`: the JSON-lines file, its header and the rules for resuming it;
* :mod:`.tables`: :class:`Results` and the intervals its tables print;
* :mod:`.sources`: :class:`ArraySource`, in-memory images read like a dataset;
* :mod:`.cluster`: shards on a Dask cluster.
"""
from .results_file import FORMAT
from .run import evaluate
from ..metrics.names import METRICS
from .score import score_image
from .sources import ArraySource, as_source
from .tables import Results

__all__ = ["evaluate", "Results", "METRICS", "FORMAT", "score_image", "as_source", "ArraySource"]
