"""`from azureml.core import Model` without azureml-core: only what an entry script needs at scoring time.

`azureml/` itself is a namespace package here, so a real azureml-core (a regular package) always wins.
"""

from azureml.core.model import Model, ModelNotFoundException

__all__ = ["Model", "ModelNotFoundException"]
