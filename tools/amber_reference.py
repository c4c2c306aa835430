"""amber_reference.py — the AMBER oracle: junyangwang0410/AMBER inference.py (@534babf) transcribed, for
lpoi's golden cases under testdata/eval/. main() below is inference.py's main() with its counters, list
bookkeeping, rounding and F1 epsilons unchanged; only the three calls that need downloads are swapped:

  nltk.word_tokenize  -> untrained Punkt + NLTKWordTokenizer (as in chair_reference.py)
  nltk.pos_tag        -> nltk's own tagger when its data loads; otherwise offline_pos_tag(), the rule lpoi
                         uses (src/eval/amber.c read_as_noun), written out again here. With the offline
                         rule this oracle checks everything but the tagger; the tagger's agreement is not
                         measured (its weights cannot be downloaded here).
  spaCy similarity    -> identical words, or a pair listed in --similar-pairs (en_core_web_lg cannot be
                         installed here).
WordNetLemmatizer reads Debian's wordnet-base through tools/wordnet_debian.py.

Usage: python tools/amber_reference.py --data ../shared/data/amber --inference FILE.json
           --evaluation_type g|d|a [--out per_response.jsonl] [--metrics metrics.json] [--similar-pairs F]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wordnet_debian  # noqa: E402,F401
import nltk  # noqa: E402
from nltk.stem import WordNetLemmatizer  # noqa: E402
from chair_reference import word_tokenize  # noqa: E402

ADJECTIVES = {"orange", "light", "hot", "individual", "cream"}
FUNCTION_WORDS = set("""and or but is are was were be been in on at of with to from by near next under over behind
above below that which who while as for into onto the a an this these those it its there here has have had can could
will would also too""".split())
VERBS = set("""watch leave sound support switch ring note spray tape file ski skate drink grill rock lock pack paddle
shovel sponge drain plug pipe rope line board bill bat hose fish water bail warp pen net saddle star sign signal stage
tie track train cash brush mat pad cable wire string rack rail pot pan""".split())
VERB_BEFORE = set("to can could will would should may might must not n't they we i you 'll do does did 're let".split())
COPULAS = set("is are was were be been being 's looks look appears appear seems seem remains remain".split())
TO_PREPOSITION = set("""next close closer near nearer up attached similar adjacent due back down leading according opposite
parallel connected tied""".split())
CAN_BEFORE = set("a an the this that one each every soda beer trash tin metal paint watering garbage aluminum".split())


def _alpha_word(w):
    return bool(w) and all(c.islower() and c.isascii() or c == '-' for c in w)


def offline_pos_tag(tokens):
    """'NN' unless the token reads as an adjective, a modal or a verb (see src/eval/amber.c)."""
    tags = []
    for i, t in enumerate(tokens):
        prev = tokens[i - 1].lower() if i > 0 else ''
        prev2 = tokens[i - 2].lower() if i > 1 else ''
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ''
        if t == 'can':
            tags.append('NN' if prev in CAN_BEFORE else 'MD')
        elif t in ADJECTIVES and ((_alpha_word(nxt) and nxt not in FUNCTION_WORDS) or prev in COPULAS):
            tags.append('JJ')
        elif t in VERBS and prev in VERB_BEFORE and not (prev == 'to' and prev2 in TO_PREPOSITION):
            tags.append('VB')
        else:
            tags.append('NN')
    return list(zip(tokens, tags))


def pos_tag(tokens):
    try:
        return nltk.pos_tag(tokens)
    except LookupError:
        return offline_pos_tag(tokens)


SIMILAR = set()


def check_synonyms_word(word1, word2, similarity_score):
    return word1 == word2 or (word1, word2) in SIMILAR


def extract_nouns(text):
    lemmatizer = WordNetLemmatizer()
    tokens = word_tokenize(text)
    tagged = pos_tag(tokens)
    nouns = [lemmatizer.lemmatize(word) for word, pos in tagged if pos.startswith('NN')]
    return nouns


def init(path):
    metrics = {}
    with open(path, "r") as file:
        lines = file.readlines()
    for line in lines:
        parts = line.strip().split('=')
        if len(parts) == 2:
            metrics[parts[0].strip()] = eval(parts[1].strip())
    return metrics


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default='../shared/data/amber')
    ap.add_argument('--inference', required=True)
    ap.add_argument('--similarity_score', type=float, default=0.8)
    ap.add_argument('--evaluation_type', choices=['a', 'g', 'd', 'de', 'da', 'dr'], default='a')
    ap.add_argument('--similar-pairs')
    ap.add_argument('--out')
    ap.add_argument('--metrics')
    args = ap.parse_args()
    if args.similar_pairs:
        for line in open(args.similar_pairs):
            w = line.split('#')[0].split()
            if len(w) == 2:
                SIMILAR.add((w[0], w[1]))
                SIMILAR.add((w[1], w[0]))
    metrics = init(os.path.join(args.data, 'metrics.txt'))
    association = json.load(open(os.path.join(args.data, 'relation.json'), 'r', encoding='utf-8'))
    hallucination_words = []
    for word1 in association.keys():
        hallucination_words.append(word1)
        for word2 in association[word1]:
            hallucination_words.append(word2)
    global_safe_words = []
    with open(os.path.join(args.data, 'safe_words.txt'), 'r', encoding='utf-8') as safe_file:
        for line in safe_file:
            line = line.split('\n')[0]
            global_safe_words.append(line)

    inference_data = json.load(open(args.inference, 'r', encoding='utf-8'))
    ground_truth = json.load(open(os.path.join(args.data, 'annotations.json'), 'r', encoding='utf-8'))
    per_response = []

    for i in range(len(inference_data)):
        id = inference_data[i]['id']
        if ground_truth[id - 1]['type'] == 'generative':
            nouns = extract_nouns(inference_data[i]['response'])
            after_process_nouns = []
            for noun in nouns:
                if noun in hallucination_words:
                    after_process_nouns.append(noun)
            safe_words = []
            safe_list = []
            for idx, word in enumerate(ground_truth[id - 1]['truth']):
                safe_words += association[word]
                safe_list += [idx] * len(association[word])
            ha_words = []
            ha_list = []
            for idx, word in enumerate(ground_truth[id - 1]['hallu']):
                ha_words += association[word]
                ha_list += [idx] * len(association[word])
            safe_words += ground_truth[id - 1]['truth']
            safe_len = len(ground_truth[id - 1]['truth'])
            safe_list += [0] * safe_len
            safe_flag_list = [0] * len(after_process_nouns)
            ha_words += ground_truth[id - 1]['hallu']
            ha_len = len(ground_truth[id - 1]['hallu'])
            ha_list += [0] * ha_len

            for idx, noun in enumerate(after_process_nouns):
                if noun in global_safe_words:
                    continue
                if noun in safe_words:
                    for j in range(len(safe_words)):
                        if noun == safe_words[j]:
                            if j < (len(safe_list) - safe_len):
                                safe_list[safe_list[j] + len(safe_list) - safe_len] = 1
                            else:
                                safe_list[j] = 1
                            break
                    continue
                if noun in ha_words:
                    for j in range(len(ha_words)):
                        if noun == ha_words[j]:
                            if j < (len(ha_list) - ha_len):
                                ha_list[ha_list[j] + len(ha_list) - ha_len] = 1
                            else:
                                ha_list[j] = 1
                            break
                for j, check_word in enumerate(ha_words):
                    if check_synonyms_word(noun, check_word, args.similarity_score):
                        if j < (len(ha_list) - ha_len):
                            ha_list[ha_list[j] + len(ha_list) - ha_len] = 1
                        else:
                            ha_list[j] = 1
                        break
                flag = False
                for j, check_word in enumerate(safe_words):
                    if check_synonyms_word(noun, check_word, args.similarity_score):
                        flag = True
                        if j < (len(safe_list) - safe_len):
                            safe_list[safe_list[j] + len(safe_list) - safe_len] = 1
                        else:
                            safe_list[j] = 1
                        break
                if flag:
                    continue
                safe_flag_list[idx] = 1

            metrics['chair_score'] += sum(safe_flag_list)
            metrics['chair_num'] += len(safe_flag_list)
            metrics['safe_cover_score'] += sum(safe_list[-safe_len:])
            metrics['safe_cover_num'] += len(safe_list[-safe_len:])
            metrics['hallu_cover_score'] += sum(ha_list[-ha_len:])
            metrics['hallu_cover_num'] += len(ha_list[-ha_len:])
            if sum(safe_flag_list) == 0:
                metrics['non_hallu_score'] += 1
            metrics['non_hallu_num'] += 1
            per_response.append({'id': id, 'nouns': after_process_nouns,
                                 'hallucinated': [n for n, f in zip(after_process_nouns, safe_flag_list) if f]})
        else:
            t = ground_truth[id - 1]['type']
            p = {'discriminative-attribute-state': 'as_', 'discriminative-attribute-number': 'an_',
                 'discriminative-attribute-action': 'aa_', 'discriminative-hallucination': 'ha_'}.get(t, 'asso_')
            # inference.py:124-215, its if/elif chains folded into the prefix p (same counters).
            metrics['qa_correct_num'] += 1
            metrics[p + 'qa_correct_num'] += 1
            truth = ground_truth[id - 1]['truth']
            response = inference_data[i]['response']
            if truth == 'yes':
                if response == 'Yes':
                    metrics['qa_correct_score'] += 1
                    metrics[p + 'qa_correct_score'] += 1
            else:
                metrics['qa_no_num'] += 1
                metrics[p + 'qa_no_num'] += 1
                if response == 'No':
                    metrics['qa_correct_score'] += 1
                    metrics['qa_no_score'] += 1
                    metrics[p + 'qa_correct_score'] += 1
                    metrics[p + 'qa_no_score'] += 1
            if response == 'No':
                metrics['qa_ans_no_num'] += 1
                metrics[p + 'qa_ans_no_num'] += 1
                if truth == 'no':
                    metrics['qa_ans_no_score'] += 1
                    metrics[p + 'qa_ans_no_score'] += 1

    out = {'counters': metrics, 'generator': 'tools/amber_reference.py nltk %s, tagger %s' % (
        nltk.__version__, 'offline rule' if pos_tag is not None and _tagger_is_offline() else 'nltk')}
    m = metrics
    if args.evaluation_type in ('a', 'g'):
        out['CHAIR'] = round(m['chair_score'] / m['chair_num'] * 100, 1)
        out['Cover'] = round(m['safe_cover_score'] / m['safe_cover_num'] * 100, 1)
        out['Cog'] = round(m['hallu_cover_score'] / m['hallu_cover_num'] * 100, 1)
        out['Hal'] = round(100 - m['non_hallu_score'] / m['non_hallu_num'] * 100, 1)
    if args.evaluation_type in ('a', 'd'):
        def prf(pre, eps):
            acc = round(sum(m[q + 'qa_correct_score'] for q in pre) / sum(m[q + 'qa_correct_num'] for q in pre) * 100, 1)
            P = round(sum(m[q + 'qa_ans_no_score'] for q in pre) / sum(m[q + 'qa_ans_no_num'] for q in pre) * 100, 1)
            R = round(sum(m[q + 'qa_no_score'] for q in pre) / sum(m[q + 'qa_no_num'] for q in pre) * 100, 1)
            F1 = round(2 * (P / 100) * (R / 100) / ((P / 100) + (R / 100) + eps) * 100, 1)
            return {'accuracy': acc, 'precision': P, 'recall': R, 'f1': F1}
        out['overall'] = prf([''], 0.0001)
        out['existence'] = prf(['ha_'], 0.001)
        out['attribute'] = prf(['as_', 'an_', 'aa_'], 0.0001)
        out['state'] = prf(['as_'], 0.0001)
        out['number'] = prf(['an_'], 0.0001)
        out['action'] = prf(['aa_'], 0.0001)
        out['relation'] = prf(['asso_'], 0.0001)
    if args.out:
        with open(args.out, 'w') as f:
            for r in per_response:
                f.write(json.dumps(r) + '\n')
    if args.metrics:
        with open(args.metrics, 'w') as f:
            json.dump(out, f, indent=1, sort_keys=True)
            f.write('\n')
    print(json.dumps({k: v for k, v in out.items() if k != 'counters'}, indent=1))


def _tagger_is_offline():
    try:
        nltk.pos_tag(['a'])
        return False
    except LookupError:
        return True


if __name__ == '__main__':
    main()
