"""homeflex: a community of households selling electricity flexibility to their DSO."""

import warnings

# signxml (under openleadr) names DSA key types in its signatures, and cryptography warns about DSA when
# they are evaluated at import: two lines before every command's own output. homeflex never signs with
# DSA (homeflex/vtn/tls.py uses RSA), so this one warning, from signxml only, is not the user's concern.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"signxml(\.|$)")

__version__ = "0.1.0"
