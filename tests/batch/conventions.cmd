# model: builtin
# status: 1
# The conventions every command shares (issue 16): --head is a query head,
# --kv-head a key/value head; "#ID" is a token id and "# " starts a comment;
# ranks count from 1; heads says how many queries each score rests on.
prompt When Mary and John went to the store, John gave a drink to
run all # a comment after white space
# a comment line
#a comment line without the space
show 3.k --head 1
show 3.k --head 5
show 3.k --kv-head 1
show 3.q --kv-head 1
show 3.k --head 1 --kv-head 0
show 3.z --head 5
dla -1 #1177 --vs #386 --top 3
dla -1 #1177#2 --top 3
lens 14
heads --top 3
ablate 0.v --head 4
ablate 0.pattern --head 4
patch 1.k --kv-head 0 from "When Mary and John went to the store, Mary gave a drink to"
interventions
clear
