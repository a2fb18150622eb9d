# model: v1_llama3_gqa
# status: 0
# Stepping through the pass: the stops, their shapes, granularity, going back.
prompt --ids 10,20,30,40
tokens
where
step
step 2
gran sublayer
step
step
gran layer
step
back
where
gran hook
run-to ln_final.hook_normalized
run-to 1.pattern
layer 2
pos -2
head 1
where
hooks 2
interventions
pane
pane attn off
pane lens
set
help step
