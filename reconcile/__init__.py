"""vision-gitops: declarative, git-reviewed management of custom image models on Azure AI Vision.

Layout (one concern per module; each package's ``__init__`` lists its modules and
marks the internal ones, see :mod:`reconcile.facade`; docs/architecture.md follows a
spec through them):

- :mod:`reconcile.errors`    -- the one exception tree, split by what the caller should do.
- :mod:`reconcile.remote_failures` -- the one boundary classifying remote failures into that tree.
- :mod:`reconcile.defaults`, :mod:`reconcile.limits` -- every default and every input limit, once.
- :mod:`reconcile.api`       -- facts about the Image Analysis 4.0 API: versions, limits, names.
- :mod:`reconcile.emulator`  -- a local, faithful emulator of that (retired) API.
- :mod:`reconcile.coco`      -- COCO label-file validation, label diff, generators.
- :mod:`reconcile.specs`     -- YAML specs (Dataset, Model, Evaluation) and the project config.
- :mod:`reconcile.client`    -- the HTTP client of the Vision endpoint (retries, rate limit, auth).
- :mod:`reconcile.backends`  -- the backend seam between the neutral core and one service.
- :mod:`reconcile.storage`   -- blob storage for label files and images, opened in one place.
- :mod:`reconcile.inventory` -- what this tool owns, per environment.
- :mod:`reconcile.lock`      -- the apply lock, one writer per environment.
- :mod:`reconcile.plan`      -- the plan: data model, computation, rendering.
- :mod:`reconcile.apply`     -- executing a plan.
- :mod:`reconcile.session`, :mod:`reconcile.workflow` -- the steps of a command, on one environment.
- :mod:`reconcile.cli`       -- the ``reconcile`` command line.
"""

__version__ = "0.1.0"
