"""amber_tagger_agreement.py — how often lpoi's offline noun reading for AMBER (src/eval/amber.c,
offline_pos_tag in tools/amber_reference.py) agrees with a statistical Penn-Treebank tagger on real
sentences, since nltk's own tagger (the official one) cannot be downloaded here. The stand-in is
Lingua::EN::Tagger (Debian: liblingua-en-tagger-perl), an HMM tagger; it is not nltk's averaged
perceptron either, so this is an indication, not the official agreement.

Counted: every token whose WordNet lemma is an AMBER vocabulary word (the only tokens whose tag
matters); a token is read as a noun when its tag starts with NN. Also reported: the "every such token
is a noun" baseline. Sentences whose tokens the two tokenizers split differently are left out.

Usage: python tools/amber_tagger_agreement.py [--captions ../shared/data/coco_eval/captions_val2014_fakecap_results.json]
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from amber_reference import offline_pos_tag  # noqa: E402
from chair_reference import word_tokenize  # noqa: E402
from nltk.stem import WordNetLemmatizer  # noqa: E402

PERL = r'''
use Lingua::EN::Tagger; my $p = new Lingua::EN::Tagger;
while (my $l = <STDIN>) { chomp $l; my $t = $p->add_tags($l); my @o;
  while ($t =~ /<(\w+)>([^<]*)<\/\w+>/g) { push @o, "$2\t$1"; } print join("\x01", @o), "\n"; }
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--captions', default='../shared/data/coco_eval/captions_val2014_fakecap_results.json')
    ap.add_argument('--relation', default='../shared/data/amber/relation.json')
    ap.add_argument('--texts', help='optional AMBER-format answers JSON ([{"id", "response"}]) instead')
    a = ap.parse_args()
    rel = json.load(open(a.relation))
    vocab = set(rel) | {w for ws in rel.values() for w in ws}
    if a.texts:
        texts = [r['response'] for r in json.load(open(a.texts))]
    else:
        texts = [c['caption'].strip() for c in json.load(open(a.captions))]
    toks = [word_tokenize(t) for t in texts]
    out = subprocess.run(['perl', '-e', PERL], input='\n'.join(' '.join(t) for t in toks) + '\n', capture_output=True,
                         text=True, check=True).stdout.split('\n')
    lem = WordNetLemmatizer()
    agree = total = base_agree = skipped = 0
    examples = []
    for t, line in zip(toks, out):
        ref = [x.split('\t') for x in line.split('\x01') if x]
        if [w for w, _ in ref] != t:
            skipped += 1
            continue
        ours = offline_pos_tag(t)
        for i, (w, tag) in enumerate(ref):
            if lem.lemmatize(w) not in vocab:
                continue
            total += 1
            r_noun = tag.startswith('nn')
            o_noun = ours[i][1].startswith('NN')
            agree += r_noun == o_noun
            base_agree += r_noun
            if r_noun != o_noun and len(examples) < 15:
                examples.append('%s [%s: tagger %s, lpoi %s]' % (' '.join(t[max(0, i - 3):i + 4]), w, tag, ours[i][1]))
    print('sentences: %d (%d left out: tokenized differently)' % (len(texts), skipped))
    print('vocabulary tokens: %d; lpoi rule agrees on noun/not-noun: %d (%.2f%%); '
          'every-token-a-noun baseline: %d (%.2f%%)' % (total, agree, 100.0 * agree / total, base_agree, 100.0 * base_agree / total))
    for e in examples:
        print('  ' + e)


if __name__ == '__main__':
    main()
