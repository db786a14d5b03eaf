"""The unfitted pipelines `tutti train` fits: one per model kind, and the constant one-label model."""

from __future__ import annotations

from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_union

from specialist_service._embedding import SentenceEmbedder

__all__ = ["MODEL_KINDS", "build_model", "build_trivial", "forget_object_ids"]

MODEL_KINDS = ("cheap", "strong", "specialist")


def build_model(kind: str, seed: int = 0) -> Pipeline:
    """The unfitted pipeline of a model kind.

    cheap and specialist: TF-IDF over words (1-2) and characters (2-5) into
    a logistic regression; strong: sentence embeddings into one.
    """
    if kind == "strong":
        return Pipeline(
            [
                ("embed", SentenceEmbedder()),
                ("classify", LogisticRegression(C=10.0, max_iter=3000, random_state=seed)),
            ]
        )
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}")
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    return Pipeline(
        [
            ("features", features),
            ("classify", LogisticRegression(C=20.0, max_iter=3000, random_state=seed)),
        ]
    )


def build_trivial(label: str) -> Pipeline:
    """A pipeline that answers `label` with probability 1.0 whatever the text.

    A department with one label has nothing to learn, yet its stage must be
    served like any other: a Pipeline with `predict_proba` and `classes_`,
    taking raw strings. The features step passes the texts through unread.
    """
    return Pipeline(
        [
            ("features", "passthrough"),
            ("classify", DummyClassifier(strategy="constant", constant=label)),
        ]
    )


def forget_object_ids(model: Pipeline) -> None:
    """Drop what makes the same fit pickle to different bytes in another process.

    TfidfVectorizer keeps `_stop_words_id`, the memory address of its stop
    word list, to skip a check on refits; without it the check just runs.
    """
    for _, step in model.steps:
        for _, part in getattr(step, "transformer_list", [("", step)]):
            if isinstance(part, TfidfVectorizer):
                vars(part).pop("_stop_words_id", None)
