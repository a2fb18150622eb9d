# model: v1_llama3_gqa
# status: 1
# Every mistake a learner can make prints one line with the usage, and the
# session goes on.
show
step
frobnicate
prompt --ids 1,2,x
prompt --ids 1,99999
prompt the cat
prompt --ids 3,4,5
layer 3
layer x
head -5
pos 3
step 0
step 2 3
run-to blocks.3.hook_resid_pre
run-to blocks.1.nothing
run-to 1.logits
show blocks.2.hook_resid_post
attn 0
attn 0 9
top 0
ablate 0 1 sideways
ablate 0.resid_pre --head 1
patch resid_pre from
patch resid_pre 1 from --ids 1,2
steer resid_pre dim:0
steer resid_pre dim:0 lots
export out.txt
set topk 0
set colour red
gran fine
pane nope
clear 3
load /nonexistent/model
echo 'unterminated
where
