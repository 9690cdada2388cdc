# the input is one tile repeated three times horizontally: keep the first third
def solve_2dee498d(I):
    x1 = hsplit(I, THREE)
    O = first(x1)
    return O
