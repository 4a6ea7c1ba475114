"""fp16 and int8 variants of an ONNX encoder, written with the `onnx` package alone (onnxruntime's Python tools,
which made the spam-encoder's, are not installable here).
  /usr/bin/python3 models/build/ner/convert.py models/ner-encoder/onnx
fp16 (model_fp16.onnx): every float tensor (initializers, constants, casts to float) as float16, inputs and
outputs kept as they were (a Cast back to float32 before each float output), as onnxruntime's
convert_float_to_float16(keep_io_types=True) does.
int8 (model_int8.onnx): dynamic quantization as onnxruntime's quantize_dynamic emits it for MatMul: each MatMul
weight quantized per tensor, symmetric (scale max|w|/127, zero point 0, int8), and the MatMul rewritten as
DynamicQuantizeLinear on its input (uint8, per-tensor scale and zero point computed at run time) + MatMulInteger
+ Cast to float + Mul by the product of the two scales."""
import os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

directory = sys.argv[1]
source = os.path.join(directory, 'model.onnx')


def to_fp16(model):
    graph = model.graph
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            converted = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name)
            graph.initializer[i].CopyFrom(converted)
    for node in graph.node:
        for attribute in node.attribute:
            if node.op_type == 'Constant' and attribute.name == 'value' and attribute.t.data_type == TensorProto.FLOAT:
                attribute.t.CopyFrom(numpy_helper.from_array(
                    numpy_helper.to_array(attribute.t).astype(np.float16), attribute.t.name))
            elif node.op_type == 'Constant' and attribute.name == 'value_float':
                raise SystemExit(f'{node.name}: value_float constants are not converted')
            elif node.op_type == 'Cast' and attribute.name == 'to' and attribute.i == TensorProto.FLOAT:
                attribute.i = TensorProto.FLOAT16
    del graph.value_info[:]
    for output in graph.output:
        if output.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        inner = output.name + '_fp16'
        for node in graph.node:
            node.output[:] = [inner if name == output.name else name for name in node.output]
        graph.node.append(helper.make_node('Cast', [inner], [output.name], to=TensorProto.FLOAT,
                                           name=output.name + '_cast_to_fp32'))
    return model


def to_int8(model):
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    uses = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    nodes = []
    quantized = 0
    for node in graph.node:
        weight = initializers.get(node.input[1]) if node.op_type == 'MatMul' and len(node.input) == 2 else None
        if weight is None or weight.data_type != TensorProto.FLOAT or len(weight.dims) != 2:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight)
        scale = np.float32(np.abs(w).max() / 127.0) if np.abs(w).max() > 0 else np.float32(1.0)
        q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        name = weight.name
        graph.initializer.extend([
            numpy_helper.from_array(q, name + '_quantized'),
            numpy_helper.from_array(np.array(scale, dtype=np.float32), name + '_scale'),
            numpy_helper.from_array(np.array(0, dtype=np.int8), name + '_zero_point'),
        ])
        x, out = node.input[0], node.output[0]
        base = node.name or out
        nodes += [
            helper.make_node('DynamicQuantizeLinear', [x], [x + '_quantized', x + '_scale', x + '_zero_point'],
                             name=base + '_input_quantize'),
            helper.make_node('Mul', [x + '_scale', name + '_scale'], [base + '_scales'], name=base + '_scales_mul'),
            helper.make_node('MatMulInteger', [x + '_quantized', name + '_quantized', x + '_zero_point',
                                               name + '_zero_point'], [base + '_int32'], name=base + '_quant'),
            helper.make_node('Cast', [base + '_int32'], [base + '_float'], to=TensorProto.FLOAT,
                             name=base + '_cast'),
            helper.make_node('Mul', [base + '_float', base + '_scales'], [out], name=base + '_rescale'),
        ]
        uses[name] -= 1
        quantized += 1
    # A DynamicQuantizeLinear per input name: several MatMuls reading one tensor share it.
    seen, deduplicated = set(), []
    for node in nodes:
        if node.op_type == 'DynamicQuantizeLinear':
            if node.input[0] in seen:
                continue
            seen.add(node.input[0])
        deduplicated.append(node)
    del graph.node[:]
    graph.node.extend(deduplicated)
    kept = [init for init in graph.initializer if uses.get(init.name, 1) > 0]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    print('int8: MatMuls quantized', quantized)
    return model


fp16 = to_fp16(onnx.load(source))
onnx.checker.check_model(fp16)
onnx.save(fp16, os.path.join(directory, 'model_fp16.onnx'))
int8 = to_int8(onnx.load(source))
onnx.checker.check_model(int8)
onnx.save(int8, os.path.join(directory, 'model_int8.onnx'))
for name in ('model.onnx', 'model_fp16.onnx', 'model_int8.onnx'):
    print(name, os.path.getsize(os.path.join(directory, name)))
