"""tokenizer_golden.py — testdata/eval/tokenizer_random.golden.jsonl: 800 random strings built from the
pieces that exercise nltk.word_tokenize's rules (clitics, contractions, quotes, brackets, periods of
abbreviations, initials and numbers, ellipses, commas in numbers, UTF-8 quotes), each with the tokens
of the oracle's word_tokenize (tools/chair_reference.py). src/eval/words_test.c replays them.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chair_reference import word_tokenize  # noqa: E402

PIECES = ['dog', 'Dogs', 'a', 'the', "man's", "isn't", "can't", 'cannot', 'gonna', "'tis", "dogs'", '"', "''", '``', '(',
          ')', '[', ']', '.', ',', ':', ';', '!', '?', '...', '--', '-', 'hot-dog', '3,000', '5.5', 'p.m.', 'Mr.', 'e.g.',
          "'", "'a", '&', '$5', '#1', '\u201cquoted\u201d', '\u2019s', '\u00abx\u00bb', 'caf\u00e9', 'wanna', 'gimme',
          "I'm", "they'll", "we've", "you're", "it'd", '*', '<b>', '{x}', 'U.S.', 'A.', '1.', 'end.', 'end!', 'x:y',
          'a,b', '2:30']


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'testdata/eval/tokenizer_random.golden.jsonl'
    rng = random.Random(7)
    with open(out, 'w') as f:
        for _ in range(800):
            s = ''.join(rng.choice(PIECES) + rng.choice([' ', ' ', ' ', '', '  ']) for _ in range(rng.randint(1, 12))).strip()
            f.write(json.dumps({'text': s, 'tokens': word_tokenize(s)}, ensure_ascii=False) + '\n')


if __name__ == '__main__':
    main()
