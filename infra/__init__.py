"""The Pulumi program of vision-gitops (Azure AI Vision account, storage, role assignments).

Importing this package, or any module in it, creates no resources: :func:`infra.stack.build_stack`
does, from a validated :class:`infra.config.InfraConfig`. Only ``infra/__main__.py`` (run by the
Pulumi CLI) reads stack config and exports outputs. The ``reconcile`` package never imports this one.
"""
