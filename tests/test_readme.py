"""The README's Python snippets run as written, in order, in one namespace."""

import re
import textwrap
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 3
    namespace: dict = {}
    for block in blocks:
        # a block inside a list item is indented with it
        exec(compile(textwrap.dedent(block), str(README), "exec"), namespace)
    assert "loss" in namespace and namespace["probabilities"].shape == (5, 10)
    assert "Epoch 10/10" in capsys.readouterr().out
