"""Validates every ONNX file in a directory with onnx.checker, including full shape inference
(strict mode: an output shape the file declares must match the inferred one)."""
import pathlib
import sys

import onnx
import onnx.checker
import onnx.shape_inference

EXPECTED = {"lenet", "lenet_batch8", "conv_stride_pad", "avg_pool", "sigmoid_tanh", "activations", "embedding", "dense_chain",
            "small_cnn", "conv_batchnorm_dropout", "elementwise", "reductions"}


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def main(directory):
    files = sorted(pathlib.Path(directory).glob("*.onnx"))
    found = {f.stem for f in files}
    if found != EXPECTED:
        sys.exit(f"expected models {sorted(EXPECTED)}, found {sorted(found)}")
    for path in files:
        onnx.checker.check_model(str(path), full_check=True)
        model = onnx.load(str(path))
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        declared = dims(model.graph.output[0])
        if dims(inferred.graph.output[0]) != declared:
            sys.exit(f"{path.name}: output shape {declared} differs from the inferred one")
        print(f"{path.name}: ok (opset {model.opset_import[0].version}, {len(model.graph.node)} nodes, "
              f"input {dims(model.graph.input[0])}, output {declared})")
    print(f"onnx {onnx.__version__}: all {len(files)} models pass onnx.checker.check_model(full_check=True)")


if __name__ == "__main__":
    main(sys.argv[1])
