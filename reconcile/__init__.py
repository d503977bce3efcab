"""vision-gitops: declarative, git-reviewed management of custom image models on Azure AI Vision.

Layout (one concern per module; each package's ``__init__`` says more):

- :mod:`reconcile.errors`    -- the one exception tree, split by what the caller should do.
- :mod:`reconcile.api`       -- facts about the Image Analysis 4.0 API: versions, limits, names.
- :mod:`reconcile.emulator`  -- a local, faithful emulator of that (retired) API.
- :mod:`reconcile.coco`      -- COCO label-file validation, label diff, generators.
- :mod:`reconcile.specs`     -- YAML specs (Dataset, Model, Evaluation) and the project config.
- :mod:`reconcile.client`    -- the HTTP client boundary (retries, rate limit, error mapping).
- :mod:`reconcile.backends`  -- the backend seam (Image Analysis 4.0 today, Custom Vision next).
- :mod:`reconcile.plan`      -- the plan: data model, computation, rendering.
- :mod:`reconcile.apply`     -- executing a plan.
- :mod:`reconcile.storage`   -- blob storage for label files and images.
- :mod:`reconcile.cli`       -- the ``reconcile`` command line.
"""

__version__ = "0.1.0"
