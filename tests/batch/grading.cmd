# model: builtin
# status: 0
# The one grading rule (issue 16): a number is right when it agrees with the
# engine's value to the question's significant digits (the question says how
# many); a wrong one says how far it was. Lesson 01's third question: the
# loss at position 2, 0.325213 nats, to 3 significant digits.
lesson 01
next
next
answer 0.33
answer 0.32
answer 0.3258
answer 0.325
