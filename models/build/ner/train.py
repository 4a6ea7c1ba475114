"""Trains ner-encoder: the spam-encoder's backbone (its pretrained weights, read from its ONNX file) with a
token-classification head, fine-tuned on the silver-labelled passages make-ner-data.ts wrote; exports ONNX fp32.
  /usr/bin/python3 models/build/ner/train.py [--minutes 8]
Debian packages: python3-torch python3-onnx libopenblas0-pthread. Reads models/build/ner/out/*.tokens.jsonl and
models/spam-encoder/onnx/model.onnx; writes models/ner-encoder/onnx/model.onnx and config.json, and
models/build/ner/out/train-metrics.json."""
import json, math, os, random, sys, time
import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
OUT = os.path.join(ROOT, 'models/build/ner/out')
MODEL_DIR = os.path.join(ROOT, 'models/ner-encoder')
MINUTES = float(sys.argv[sys.argv.index('--minutes') + 1]) if '--minutes' in sys.argv else 8.0
torch.set_num_threads(2)
torch.manual_seed(0)
random.seed(0)
T0 = time.time()
def log(*a):
    print(f'[{time.time() - T0:7.1f}s]', *a, flush=True)

LABELS = json.load(open(os.path.join(OUT, 'labels.json')))
C = dict(vocab=4096, dim=192, layers=4, heads=3, ffn=768, max_len=512)


class EncoderLayer(nn.Module):
    """The spam-encoder's layer (post-LN, fused QKV, GELU), as in models/build/nets.py."""
    def __init__(self, c):
        super().__init__()
        d, self.h = c['dim'], c['heads']
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d, eps=1e-12)
        self.ff1 = nn.Linear(d, c['ffn'])
        self.ff2 = nn.Linear(c['ffn'], d)
        self.ln2 = nn.LayerNorm(d, eps=1e-12)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, bias):
        b, t, d = x.shape
        hd = d // self.h
        q, k, v = self.qkv(x).view(b, t, 3, self.h, hd).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)) + bias
        o = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + self.drop(self.out(o)))
        return self.ln2(x + self.drop(self.ff2(F.gelu(self.ff1(x)))))


class TokenEncoder(nn.Module):
    def __init__(self, c, labels):
        super().__init__()
        d = c['dim']
        self.word = nn.Embedding(c['vocab'], d)
        self.pos = nn.Embedding(c['max_len'], d)
        self.tok_type = nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList([EncoderLayer(c) for _ in range(c['layers'])])
        self.drop = nn.Dropout(0.1)
        self.tag = nn.Linear(d, labels)

    def forward(self, input_ids, attention_mask, token_type_ids):
        t = input_ids.shape[1]
        pos = torch.arange(t, device=input_ids.device)[None]
        x = self.drop(self.ln(self.word(input_ids) + self.pos(pos) + self.tok_type(token_type_ids)))
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return self.tag(self.drop(x))


def load_backbone(model):
    """The spam-encoder's weights: named initializers as they are, its MatMul weights (stored transposed, in
    layer order qkv, out, ff1, ff2) back into the Linear layers."""
    graph = onnx.load(os.path.join(ROOT, 'models/spam-encoder/onnx/model.onnx')).graph
    named = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    state = model.state_dict()
    loaded = 0
    for name, value in named.items():
        if name in state and state[name].shape == value.shape:
            state[name] = value; loaded += 1
    matmuls = [named[n] for n in sorted((n for n in named if n.startswith('onnx::MatMul_')),
                                        key=lambda n: int(n.split('_')[-1]))]
    for i, layer_weights in enumerate(zip(*[iter(matmuls)] * 4)):
        for part, weight in zip(('qkv', 'out', 'ff1', 'ff2'), layer_weights):
            state[f'layers.{i}.{part}.weight'] = weight.T.contiguous(); loaded += 1
    model.load_state_dict(state)
    log('backbone tensors loaded from spam-encoder', loaded)


def rows(split):
    return [json.loads(line) for line in open(os.path.join(OUT, f'{split}.tokens.jsonl'))]


def batches(data, size, shuffle):
    """Length-bucketed batches, so a batch pads little."""
    order = sorted(range(len(data)), key=lambda i: len(data[i]['ids']))
    chunks = [order[i:i + size] for i in range(0, len(order), size)]
    if shuffle:
        random.shuffle(chunks)
    for chunk in chunks:
        length = max(len(data[i]['ids']) for i in chunk)
        ids = torch.zeros(len(chunk), length, dtype=torch.long)
        mask = torch.zeros(len(chunk), length, dtype=torch.long)
        labels = torch.full((len(chunk), length), -100, dtype=torch.long)
        for row, i in enumerate(chunk):
            n = len(data[i]['ids'])
            ids[row, :n] = torch.tensor(data[i]['ids'])
            mask[row, :n] = 1
            labels[row, :n] = torch.tensor(data[i]['labels'])
        yield ids, mask, labels


@torch.no_grad()
def entity_token_f1(model, data):
    """Token-level F1 over entity tokens (not O): enough to pick an epoch; entity-level F1 is measured in Node."""
    model.eval()
    tp = fp = fn = 0
    for ids, mask, labels in batches(data, 64, False):
        predicted = model(ids, mask, torch.zeros_like(ids)).argmax(-1)
        valid = labels != -100
        gold_entity = valid & (labels != 0)
        predicted_entity = valid & (predicted != 0)
        tp += int((gold_entity & (predicted == labels)).sum())
        fp += int((predicted_entity & (predicted != labels)).sum())
        fn += int((gold_entity & (predicted != labels)).sum())
    model.train()
    precision = tp / max(tp + fp, 1); recall = tp / max(tp + fn, 1)
    return 2 * precision * recall / max(precision + recall, 1e-9)


train, dev = rows('train'), rows('dev')
model = TokenEncoder(C, len(LABELS))
load_backbone(model)
log('params', sum(p.numel() for p in model.parameters()), 'train rows', len(train), 'dev rows', len(dev))
PEAK_LR = 1e-3
opt = torch.optim.AdamW(model.parameters(), lr=PEAK_LR, weight_decay=0.01)
# Entity tokens are about 6% of all: O counts less, so the rarer tags are not drowned out.
weights = torch.ones(len(LABELS)); weights[LABELS.index('O')] = 0.3
start, step, epoch, best = time.time(), 0, 0, (-1.0, None)
while time.time() - start < MINUTES * 60:
    for ids, mask, labels in batches(train, 32, True):
        frac = min(1.0, (time.time() - start) / (MINUTES * 60))
        for group in opt.param_groups:
            group['lr'] = PEAK_LR * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        logits = model(ids, mask, torch.zeros_like(ids))
        loss = F.cross_entropy(logits.view(-1, len(LABELS)), labels.view(-1), weight=weights, ignore_index=-100)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); opt.zero_grad()
        step += 1
        if step % 50 == 0:
            log('step', step, 'loss', round(loss.item(), 4))
        if time.time() - start > MINUTES * 60:
            break
    epoch += 1
    f1 = entity_token_f1(model, dev)
    log('epoch', epoch, 'dev entity-token F1', round(f1, 4), 'train (first 600)', round(entity_token_f1(model, train[:600]), 4))
    if f1 > best[0]:
        best = (f1, {k: v.detach().clone() for k, v in model.state_dict().items()})
model.load_state_dict(best[1])
model.eval()

os.makedirs(os.path.join(MODEL_DIR, 'onnx'), exist_ok=True)
x = torch.tensor([[1, 100, 200, 300, 400, 5]]); m = torch.ones_like(x); t = torch.zeros_like(x)
torch.onnx.export(
    model, (x, m, t), os.path.join(MODEL_DIR, 'onnx/model.onnx'),
    input_names=['input_ids', 'attention_mask', 'token_type_ids'], output_names=['logits'],
    dynamic_axes={name: {0: 'batch_size', 1: 'sequence_length'}
                  for name in ('input_ids', 'attention_mask', 'token_type_ids', 'logits')},
    opset_version=17)
config = {
    'model_type': 'bert', 'architectures': ['BertForTokenClassification'], 'vocab_size': C['vocab'],
    'hidden_size': C['dim'], 'num_hidden_layers': C['layers'], 'num_attention_heads': C['heads'],
    'intermediate_size': C['ffn'], 'hidden_act': 'gelu', 'max_position_embeddings': C['max_len'],
    'type_vocab_size': 2, 'layer_norm_eps': 1e-12,
    'id2label': {str(i): label for i, label in enumerate(LABELS)},
    'label2id': {label: i for i, label in enumerate(LABELS)},
}
json.dump(config, open(os.path.join(MODEL_DIR, 'config.json'), 'w'), indent=1)
json.dump({'steps': step, 'epochs': epoch, 'minutes': MINUTES, 'dev_entity_token_f1': best[0],
           'torch': torch.__version__}, open(os.path.join(OUT, 'train-metrics.json'), 'w'), indent=1)
log('exported', os.path.join(MODEL_DIR, 'onnx/model.onnx'), 'best dev entity-token F1', round(best[0], 4))
