"""RSA2 (SHA256withRSA, PKCS#1 v1.5, base64) signatures for the bank channels, whose APIs sign
like Alipay's but have no SDK (the Alipay channel signs through its SDK)."""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def sign(private_key_pem: str, text: str) -> str:
    """The base64 RSA2 signature of ``text`` (UTF-8)."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    raw = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()


def verify(public_key_pem: str, text: str, signature: str) -> bool:
    """Whether ``signature`` is the RSA2 signature of ``text`` by the key's owner."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(signature), text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def signing_text(params: dict[str, str]) -> str:
    """``k1=v1&k2=v2`` over the non-empty parameters sorted by name, ``sign`` left out."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if v != "" and k != "sign")


def new_key_pair() -> tuple[str, str]:
    """A fresh 2048-bit key pair as (private PEM, public PEM): tests and the demo make their
    keys at run time, so no key is ever committed."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public
