"""homeflex: a community of households selling electricity flexibility to their DSO."""

import warnings

# signxml (under openleadr) names DSA key types in its signatures, and cryptography warns about DSA when
# they are evaluated at import: two lines before every command's own output; openleadr's messaging warns
# again when it picks a signature algorithm for a TLS key. homeflex never signs with DSA (its keys are EC
# and RSA: homeflex/vtn/identity.py), so this one warning, from those two libraries only, is not the
# user's concern.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"(signxml|openleadr)(\.|$)")

__version__ = "0.1.0"
