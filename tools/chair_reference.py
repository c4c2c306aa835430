"""chair_reference.py — the CHAIR oracle: LisaAnne/Hallucination utils/chair.py (Rohrbach et al. 2018,
final refactored version, @6e4d33c) transcribed to Python 3, for lpoi's golden cases under testdata/eval/.

What is the original's, line for line: lowercase, nltk.word_tokenize, pattern.en.singularize on every
token, the double-word map (coco_double_words + baby/adult animals + passenger jet/train + bow tie,
toilet seat, wine glas overrides), the toilet/seat rule, the synonym filter (split on ", " so the two
entries with a doubled space never match), ground truth = instance labels + objects mined from the
reference captions with the same pipeline, CHAIR_i over all mentions (repeats count), CHAIR_s over all
captions.

What had to be substituted (nothing else is reachable offline; see testdata/eval/README.md):
  * pattern.en.singularize: tools/pattern_singularize.py, which runs the rules of the pinned PyPI sdist pattern3==3.0.0
    (pattern 3.6 is not on PyPI any more; nothing of pattern is stored here).
  * nltk.word_tokenize needs the Punkt English model (nltk_data, not downloadable): we split sentences with
    an untrained PunktSentenceTokenizer() and words with nltk's own NLTKWordTokenizer — the same as
    word_tokenize except for the English model's abbreviation list and orthographic statistics.

--variant rlhfv is the rule-based path of Object HalBench instead (RLHF-V/RLAIF-V eval/eval_gpt_obj_halbench.py
@83d917b, CHAIR.__init__ and caption_to_words without GPT): nltk's WordNetLemmatizer (Debian's WordNet through
tools/wordnet_debian.py) instead of singularize, stripped entries, every multi-word entry as a two-word object;
its metrics add CHAIRs_refine (over answers with an object) and obj_rec.

Usage:
  python tools/chair_reference.py --captions FILE.jsonl [--instances COCO.json] [--gt-captions CAPS.json]
                                  [--synonyms FILE] [--variant original|rlhfv] --out OUT.jsonl [--metrics OUT.json]
captions: JSONL {"id": ..., "image_id": N, "caption": "..."}. Without --instances only the objects of
each caption are written (extraction); with it, each caption's hallucinations and the metrics too.
"""
import argparse
import json
import os
import sys

import nltk
from nltk.tokenize.destructive import NLTKWordTokenizer
from nltk.tokenize.punkt import PunktSentenceTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pattern_singularize import singularize  # noqa: E402

_sentences = PunktSentenceTokenizer()
_words = NLTKWordTokenizer()


def word_tokenize(text):
    """nltk.word_tokenize(text) with an untrained Punkt (see the module comment)."""
    return [t for s in _sentences.tokenize(text) for t in _words.tokenize(s)]


class Chair:
    def __init__(self, synonyms_path):
        synonyms = [s.strip().split(', ') for s in open(synonyms_path).readlines()]
        self.mscoco_objects = []
        self.inverse_synonym_dict = {}
        for synonym in synonyms:
            self.mscoco_objects.extend(synonym)
            for s in synonym:
                self.inverse_synonym_dict[s] = synonym[0]
        coco_double_words = ['motor bike', 'motor cycle', 'air plane', 'traffic light', 'street light',
                             'traffic signal', 'stop light', 'fire hydrant', 'stop sign', 'parking meter',
                             'suit case', 'sports ball', 'baseball bat', 'baseball glove', 'tennis racket',
                             'wine glass', 'hot dog', 'cell phone', 'mobile phone', 'teddy bear', 'hair drier',
                             'potted plant', 'bow tie', 'laptop computer', 'stove top oven', 'hot dog',
                             'teddy bear', 'home plate', 'train track']
        self._double_words(coco_double_words)

    def _double_words(self, coco_double_words):
        """The two-word map and its special cases: the same lines in both scripts."""
        animal_words = ['bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe',
                        'animal', 'cub']
        vehicle_words = ['jet', 'train']
        self.double_word_dict = {}
        for double_word in coco_double_words:
            self.double_word_dict[double_word] = double_word
        for animal_word in animal_words:
            self.double_word_dict['baby %s' % animal_word] = animal_word
            self.double_word_dict['adult %s' % animal_word] = animal_word
        for vehicle_word in vehicle_words:
            self.double_word_dict['passenger %s' % vehicle_word] = vehicle_word
        self.double_word_dict['bow tie'] = 'tie'
        self.double_word_dict['toilet seat'] = 'toilet'
        self.double_word_dict['wine glas'] = 'wine glass'

    def normalize(self, w):
        return singularize(w)

    def caption_to_words(self, caption):
        """caption_to_words of both scripts; only normalize() differs (RLHF-V keeps [word, class] pairs as
        node words, we keep the class: the same comparison)."""
        words = word_tokenize(caption.lower())
        words = [self.normalize(w) for w in words]
        i = 0
        double_words = []
        idxs = []
        while i < len(words):
            idxs.append(i)
            double_word = ' '.join(words[i:i + 2])
            if double_word in self.double_word_dict:
                double_words.append(self.double_word_dict[double_word])
                i += 2
            else:
                double_words.append(words[i])
                i += 1
        words = double_words
        if ('toilet' in words) & ('seat' in words):
            words = [word for word in words if word != 'seat']
        idxs = [idxs[idx] for idx, word in enumerate(words) if word in set(self.mscoco_objects)]
        words = [word for word in words if word in set(self.mscoco_objects)]
        node_words = [self.inverse_synonym_dict[word] for word in words]
        return words, node_words, idxs, double_words


class ChairRLHFV(Chair):
    """eval_gpt_obj_halbench.py's CHAIR.__init__ (synonyms part); caption_to_words lemmatizes."""

    def __init__(self, synonyms_path):
        import wordnet_debian  # noqa: F401  (nltk's WordNet from Debian's files)
        from nltk.stem import WordNetLemmatizer
        self.lemma = WordNetLemmatizer()
        synonyms = [s.strip().split(', ') for s in open(synonyms_path).readlines()]
        self.mscoco_objects = []
        self.inverse_synonym_dict = {}
        for synonym in synonyms:
            new_synonym = [s.strip() for s in synonym]
            self.mscoco_objects.extend(new_synonym)
            for s in new_synonym:
                self.inverse_synonym_dict[s] = new_synonym[0]
        coco_double_words = [word for word in self.inverse_synonym_dict.keys() if len(word.strip().split(' ')) >= 2]
        coco_double_words += ['home plate', 'train track']
        self._double_words(coco_double_words)

    def normalize(self, w):
        return self.lemma.lemmatize(w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--captions', required=True)
    ap.add_argument('--instances')
    ap.add_argument('--gt-captions')
    ap.add_argument('--synonyms', default='../shared/data/chair/synonyms_rohrbach2018.txt')
    ap.add_argument('--out', required=True)
    ap.add_argument('--metrics')
    ap.add_argument('--variant', choices=['original', 'rlhfv'], default='original')
    a = ap.parse_args()
    chair = Chair(a.synonyms) if a.variant == 'original' else ChairRLHFV(a.synonyms)
    caps = [json.loads(line) for line in open(a.captions) if line.strip()]

    gt = None
    if a.instances:
        coco = json.load(open(a.instances))
        id_to_name = {c['id']: c['name'] for c in coco['categories']}
        gt = {im['id']: set() for im in coco['images']}
        for ann in coco['annotations']:
            if ann['image_id'] in gt:
                gt[ann['image_id']].add(chair.inverse_synonym_dict[id_to_name[ann['category_id']]])
        if a.gt_captions:
            for ann in json.load(open(a.gt_captions))['annotations']:
                if ann['image_id'] in gt:
                    gt[ann['image_id']].update(chair.caption_to_words(ann['caption'])[1])

    num_caps = num_hall_caps = hall_words = coco_words = num_coco_caps = obj_cls = gt_words = 0
    with open(a.out, 'w') as out:
        for c in caps:
            words, node_words, idxs, _ = chair.caption_to_words(c['caption'])
            rec = {'id': c['id'], 'image_id': c['image_id'], 'words': words, 'objects': node_words}
            if gt is not None:
                gt_objects = gt[c['image_id']]
                hall = [[w, n] for w, n in zip(words, node_words) if n not in gt_objects]
                rec['hallucinated'] = hall
                coco_words += len(node_words)
                hall_words += len(hall)
                num_caps += 1
                num_hall_caps += 1 if hall else 0
                num_coco_caps += 1 if words else 0                           # RLHF-V's extra metrics
                obj_cls += len({n for n in node_words if n in gt_objects})
                gt_words += len(gt_objects)
            out.write(json.dumps(rec) + '\n')
    if gt is not None and a.metrics:
        m = {'captions': num_caps, 'hallucinated_captions': num_hall_caps, 'mentions': coco_words,
             'hallucinated_mentions': hall_words, 'CHAIRs': num_hall_caps / num_caps,
             'CHAIRi': hall_words / coco_words if coco_words else 0.0,
             'CHAIRs_refine': num_hall_caps / num_coco_caps if num_coco_caps else 0.0,
             'obj_rec': obj_cls / gt_words if gt_words else 0.0, 'variant': a.variant,
             'generator': 'tools/chair_reference.py nltk %s' % nltk.__version__}
        with open(a.metrics, 'w') as f:
            json.dump(m, f, indent=1, sort_keys=True)
            f.write('\n')


if __name__ == '__main__':
    main()
