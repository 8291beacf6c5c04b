"""A BiDAF-style reader: a context and a question in, the context span that best answers it out.

Pre-processing tokenises both texts into hashed word ids (no vocabulary file), pads them to fixed lengths so Triton
can batch requests, and sends int64 tensors; post-processing picks the best start/end pair and maps it back to words.
"""

import json
import re
import zlib

import numpy as np

from scoring import BadRequest
from scoring.triton import client

MODEL = "span_reader"
VOCABULARY_SIZE = 4096
CONTEXT_TOKENS = 64
QUESTION_TOKENS = 16
MAX_SPAN = 6
WORD = re.compile(r"[A-Za-z0-9']+")
QUESTION_WORDS = {"what", "who", "when", "where", "which", "why", "how", "is", "was", "are", "were", "the", "a",
                  "an", "of", "in", "on", "did", "does", "do", "to"}  # fmt: skip


def init():
    client().model_metadata(MODEL)


def token_id(word):
    return 1 + zlib.crc32(word.lower().encode()) % (VOCABULARY_SIZE - 1)


def encode(words, length):
    ids = np.zeros(length, dtype=np.int64)
    ids[: len(words)] = [token_id(word) for word in words[:length]]
    return ids


def tokenize(context, question):
    context_words = WORD.findall(context)[:CONTEXT_TOKENS]
    question_words = [word for word in WORD.findall(question) if word.lower() not in QUESTION_WORDS]
    if not context_words or not question_words:
        raise BadRequest("both 'context' and 'question' need words")
    return context_words, question_words[:QUESTION_TOKENS]


def best_span(start_logits, end_logits, length):
    best = (-np.inf, 0, 0)
    for start in range(length):
        for end in range(start, min(start + MAX_SPAN, length)):
            score = float(start_logits[start] + end_logits[end])
            if score > best[0]:
                best = (score, start, end)
    return best


def answer(context_words, start_logits, end_logits):
    score, start, end = best_span(start_logits, end_logits, len(context_words))
    return {"answer": " ".join(context_words[start : end + 1]), "start": start, "end": end, "score": round(score, 5)}


def run(raw_data):
    body = json.loads(raw_data)
    items = body if isinstance(body, list) else [body]
    try:
        texts = [tokenize(item["context"], item["question"]) for item in items]
    except (KeyError, TypeError):
        raise BadRequest('send {"context": "...", "question": "..."} or a list of them') from None
    outputs = client().infer_numpy(
        MODEL,
        {
            "context_ids": np.stack([encode(context, CONTEXT_TOKENS) for context, _ in texts]),
            "question_ids": np.stack([encode(question, QUESTION_TOKENS) for _, question in texts]),
        },
    )
    answers = [
        answer(context, start, end)
        for (context, _), start, end in zip(texts, outputs["start_logits"], outputs["end_logits"], strict=True)
    ]
    return answers if isinstance(body, list) else answers[0]
