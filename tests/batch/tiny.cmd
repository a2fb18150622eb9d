# model: tiny
# status: 1
# Text prompts with the tokenizer of a tiny model written by test_commands.
prompt the cat sat on the mat
tokens
set bos off
prompt
set bos on
prompt "  the  dog "
tokens
prompt <|begin_of_text|> ran
tokens
run-to 1.resid_mid
ablate 1 2
steer 0.resid_mid embed:' cat' 1 --pos 1
patch 1.z 2 from <|begin_of_text|> dog
patch 1.z 2 from the dog ran
interventions
clear 0
interventions
clear
export acts.json 0.resid_pre,logits
export acts.safetensors
where
hooks 1
