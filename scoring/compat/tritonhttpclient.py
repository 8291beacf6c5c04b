"""`import tritonhttpclient` for scripts written like Azure ML's Triton samples.

Everything is tritonclient.http's, except InferenceServerClient: it is scoring.triton.TritonClient, which a script
may create once in init() and share across concurrent requests (the original would serialise them on one connection
and is not thread-safe). Its get_model_metadata/get_model_config answer from a cache, and infer() with binary numeric
inputs (class_count included) takes the lean, coalescing path; anything else goes to tritonclient's own client.
"""

from tritonclient.http import *  # noqa: F403 - the old module exposed the whole HTTP client API
from tritonclient.http import InferAsyncRequest, InferInput, InferRequestedOutput, InferResult
from tritonclient.utils import InferenceServerException, np_to_triton_dtype, triton_to_np_dtype

from scoring.triton import TritonClient

# Assigned (not imported under this name) so that no import order can let the star import win.
InferenceServerClient = TritonClient

__all__ = [
    "InferAsyncRequest",
    "InferInput",
    "InferRequestedOutput",
    "InferResult",
    "InferenceServerClient",
    "InferenceServerException",
    "np_to_triton_dtype",
    "triton_to_np_dtype",
]
