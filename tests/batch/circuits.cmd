# model: builtin
# status: 1
# Circuits, path patching and attribution patching (issue 22) on the built-in
# model: the numbers are checked against independent routes in test_circuits;
# this holds what the commands print, and their one-line errors.
prompt When Nora and Hugo went to the park, Felix gave a ball to
circuit qk 0 3 --tokens " to Nora Hugo ball"
circuit ov 0 4 --tokens " Nora Hugo Felix" --top 3
composition k 3 3
composition v --top 3
path-patch 0.3 0.mlp from When Nora and Hugo went to the park, Hugo gave a ball to
path-patch 0.mlp 3.1.q,3.1.k from When Nora and Hugo went to the park, Hugo gave a ball to
path-patch senders logits from When Nora and Hugo went to the park, Hugo gave a ball to
attrib z --heads --compare from When Nora and Hugo went to the park, Hugo gave a ball to
circuit xy 0 3
circuit qk 9 0
path-patch 0.3 0.1 from When Nora and Hugo went to the park, Hugo gave a ball to
path-patch 0.9 logits from When Nora and Hugo went to the park, Hugo gave a ball to
path-patch 1.2 3.1.x from When Nora and Hugo went to the park, Hugo gave a ball to
path-patch 1.2 logits from Nora went
attrib pattern from When Nora and Hugo went to the park, Hugo gave a ball to
attrib resid_pre --heads from When Nora and Hugo went to the park, Hugo gave a ball to
