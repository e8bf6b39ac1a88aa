"""Many certificates checked at one moment: ``haven cert verify -`` and its worker processes.

Every certificate gets every check of :func:`haven.certs.verify.verify`, in
its order, and the same result, byte for byte: the rules are
:mod:`haven.certs.haven_format`'s steps, run here batch-wise. What a batch
saves: per-call set-up (the moment's seconds), building result objects only to
encode them, and cache misses: all structures and keys of a batch are read
first, then all signatures are verified back to back, then all claims, so the
signature code and the curve's tables stay in the processor's caches instead
of being evicted by the parsing in between (about 5 % of the time per
certificate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from haven.certs import base45, haven_format
from haven.certs.issuers import ExternalIssuer
from haven.certs.result import Trust, refusal_json, valid_json
from haven.certs.trust import timestamp
from haven.certs.trust_settings import TrustSettings, trust_from_settings
from haven.certs.verify import detect_format, verify
from haven.errors import CertificateError
from haven.exit_codes import exit_code

Result = tuple[str, int]  # a JSON result (one line, no newline) and its exit code (0 when valid)


class BulkVerifier:
    """One compact JSON result per certificate, all checked against one trust at one moment."""

    def __init__(self, trust: Trust, now: dt.datetime) -> None:
        self.trust = trust
        self.now = now
        self._seconds = timestamp(now)

    def result(self, text: str) -> Result:
        """The JSON result of ``text`` and its exit code."""
        return self.results([text])[0]

    def results(self, texts: list[str]) -> list[Result]:
        """:meth:`result` of each text, in order."""
        results: list[Result] = []
        at_haven: list[int] = []
        haven_texts: list[str] = []
        for text in texts:
            if detect_format(text) == "haven":
                at_haven.append(len(results))
                haven_texts.append(text)
                results.append(_PENDING)
            else:
                results.append(self._other(text))
        # Base45 for the whole batch at once; if any text is not plain Base45, each is decoded (and refused) alone.
        raws: list[bytes] | list[None] = base45.decode_many(haven_texts) or [None] * len(haven_texts)
        signed: list[tuple[int, haven_format.Signed]] = []
        trust_list = self.trust.haven
        for at, text, raw in zip(at_haven, haven_texts, raws, strict=True):
            try:
                signed.append((at, haven_format.read_signed(text, trust_list, raw)))
            except CertificateError as exc:
                results[at] = _refused(exc)
        checked: list[tuple[int, haven_format.Signed]] = []
        for at, certificate in signed:
            try:
                haven_format.check_signature(certificate)
            except CertificateError as exc:
                results[at] = _refused(exc)
                continue
            checked.append((at, certificate))
        now = self._seconds
        for at, certificate in checked:
            try:
                claimed = haven_format.check_claims(certificate, now)
            except CertificateError as exc:
                results[at] = _refused(exc)
                continue
            results[at] = (valid_json(haven_format.FORMAT, haven_format.facts_json(certificate, claimed)), 0)
        return results

    def _other(self, text: str) -> Result:
        try:
            return verify(text, self.trust, self.now).to_json(), 0
        except CertificateError as exc:
            return refusal_json(exc), exit_code(exc)


_PENDING: Result = ("", 0)  # a Haven certificate's place in the results until its checks are done


def _refused(exc: CertificateError) -> Result:
    """A Haven certificate's refusal, as :func:`verify` reports it."""
    if exc.format is None:
        exc.format = haven_format.FORMAT
    return refusal_json(exc), exit_code(exc)


# ``haven cert verify --workers``: each worker process rebuilds the same trust from the same settings once,
# then verifies the batches of lines it is given.
_worker_verifier: BulkVerifier | None = None


def start_verify_worker(settings: TrustSettings, extra: Iterable[ExternalIssuer], now: dt.datetime) -> None:
    """Initialise a worker process (module-level, so that it can be named to a spawned process)."""
    global _worker_verifier
    _worker_verifier = BulkVerifier(trust_from_settings(settings, extra), now)


def verify_in_worker(texts: list[str]) -> list[Result]:
    """:meth:`BulkVerifier.results` in a worker process started by :func:`start_verify_worker`."""
    if _worker_verifier is None:
        raise RuntimeError("verify_in_worker runs only in a process started with start_verify_worker")
    return _worker_verifier.results(texts)
