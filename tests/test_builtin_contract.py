"""The built-in plugin (losses, penalties, the toy modality) passes the contract that
every plugin runs on itself: sparring.testing, exactly as a third party uses it."""
from sparring.testing import contract_test

test_builtin_contract = contract_test(
    "builtin",
    entry_points=False,  # the core alone, whatever else is installed
    overrides={
        "generator:mlp": {"hidden": 16, "layers": 2},
        "discriminator:mlp": {"hidden": 16, "layers": 2},
        "dataset:ring": {"size": 512},
        "dataset:grid": {"size": 512},
    },
)
