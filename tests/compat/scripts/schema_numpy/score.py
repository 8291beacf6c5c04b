# inference_schema with a numpy parameter: run() receives an ndarray.
import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    pass


@input_schema("data", NumpyParameterType(np.array([[1.0, 2.0, 3.0]], dtype=np.float32)))
@output_schema(StandardPythonParameterType({"sum": 6.0, "shape": [1, 3], "dtype": "float32"}))
def run(data):
    return {"sum": float(data.sum()), "shape": list(data.shape), "dtype": str(data.dtype)}
