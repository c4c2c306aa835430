"""wordnet_debian.py — makes nltk's WordNet (nltk.corpus.wordnet, WordNetLemmatizer) read Debian's
wordnet-base files (/usr/share/wordnet, WordNet 3.0, the same release nltk's own wordnet corpus packs)
because nltk_data cannot be downloaded here. Debian lacks only `lexnames`, the fixed list of WordNet
3.0's 45 lexicographer files, which is written below (and index.sense, left empty). Import this before using nltk's WordNet.
"""
import os
import tempfile

import nltk

WORDNET = os.environ.get('LPOI_WORDNET', '/usr/share/wordnet')
LEXNAMES = """adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body
noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location noun.motive
noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process noun.quantity noun.relation
noun.shape noun.state noun.substance noun.time verb.body verb.change verb.cognition verb.communication
verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion verb.perception
verb.possession verb.social verb.stative verb.weather adj.ppl""".split()
POS_NUM = {'adj': 3, 'adv': 4, 'noun': 1, 'verb': 2}


def install():
    if not os.path.exists(os.path.join(WORDNET, 'index.noun')):
        raise SystemExit('%s/index.noun missing: apt-get install wordnet-base' % WORDNET)
    root = os.path.join(tempfile.gettempdir(), 'lpoi_nltk_data')
    wn = os.path.join(root, 'corpora', 'wordnet')
    os.makedirs(wn, exist_ok=True)
    for name in os.listdir(WORDNET):
        dst = os.path.join(wn, name)
        if not os.path.lexists(dst):
            os.symlink(os.path.join(WORDNET, name), dst)
    with open(os.path.join(wn, 'lexnames'), 'w') as f:
        for i, n in enumerate(LEXNAMES):
            f.write('%02d\t%s\t%d\n' % (i, n, POS_NUM[n.split('.')[0]]))
    # index.sense (in Debian's wordnet-sense-index) only feeds nltk's WordNet-version mapping for the
    # multilingual data; an empty one is enough for morphy and lemmatize.
    sense = os.path.join(wn, 'index.sense')
    if not os.path.lexists(sense):
        open(sense, 'w').close()
    if root not in nltk.data.path:
        nltk.data.path.insert(0, root)


install()
