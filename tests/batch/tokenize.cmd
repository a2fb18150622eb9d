# model: tiny
# status: 1
# `tokenize` on the tiny model's tokenizer (tests/commands_model.h): bytes are
# ids 0-255, merge k makes id 256+k ("Ġ t" 0, "h e" 1, "Ġt he" 2, "a t" 3,
# "Ġ c" 4, "Ġc at" 5, ... "o n" 8, "Ġ on" 9), <|begin_of_text|> is 275.
prompt the cat
tokenize the cats
tokenize --trace the cats
# a tie between two equal pairs: the leftmost merges first
tokenize --trace onon
# a pre-token that is a token is taken whole, unless --all-merges
tokenize --trace ' on'
tokenize --all-merges ' on'
tokenize --trace <|begin_of_text|>é
tokenize -- --trace
# the prompt is untouched
prompt
tokenize
tokenize --chat hi
tokenize --chat-style llama3 hi
tokenize --trace --chat hi
tokenize --bogus hi
