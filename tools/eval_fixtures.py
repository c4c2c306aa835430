"""eval_fixtures.py — writes the hand-made inputs of lpoi's scorer golden cases (testdata/eval/), which the
oracles (tools/chair_reference.py, tools/amber_reference.py) then score. Deterministic (fixed seeds).

  chair_responses.jsonl  one description for each of the 100 annotated COCO val2014 images
                         (../shared/data/coco_eval/instances_val2014_100.json): true objects named by
                         synonyms and plurals, plus a hallucinated object in about half of them
  chair_hard.jsonl       responses written to be hard: plurals, irregular plurals, synonyms, two-word
                         objects, the baby/adult/passenger and toilet-seat rules, negations ("no dog"),
                         punctuation and clitics; then every synonym of the table in a plural sentence
  chair_gt_captions.json reference captions (COCO captions format) for some of the 100 images, so that the
                         caption-mined part of the ground truth is exercised
  amber_responses.json   AMBER generative answers (the official inference_data format) for ids 1..1004
  amber_disc.json        AMBER discriminative answers in the official format, a mix of exact Yes/No

Usage: python tools/eval_fixtures.py --data ../shared/data --out testdata/eval
"""
import argparse
import json
import os
import random

HARD = [
    "A man riding a motor bike on a dirt road.",
    "Two men and three women stand next to the buses.",
    "A bus is parked by the curb.",
    "A minibus and a trolley wait at the stop sign.",
    "The children are playing with a frisbee in the park.",
    "A baby elephant walks behind an adult elephant.",
    "A baby is sleeping in a crib next to a teddy bear.",
    "A passenger train pulls into the station while passengers wait.",
    "A passenger jet flies over the city.",
    "The toilet seat is up and the sink is clean.",
    "The seat of the toilet is broken.",
    "A man wearing a bow tie holds a wine glass.",
    "Several wine glasses sit on the dining table.",
    "A glass of water on a desk.",
    "There is no dog in this picture, only a cat.",
    "No people are visible; just a bench and some birds.",
    "The man's dog is chasing a ball.",
    "The dogs' owner isn't here.",
    "A hot dog with ketchup on a plate next to a fork and knives.",
    "A hot-dog stand next to a fire hydrant.",
    "Two skis and a snowboard lean against the chair.",
    "A tennis player swings a tennis racket at the ball.",
    "Kids play sports with a sports ball near the baseball bat and baseball glove.",
    "A cell phone, a mobile phone and a smartphone lie on the couch.",
    "An iPhone sits on the laptop computer.",
    "A stove top oven in a kitchen with a microwave and a fridge.",
    "A cheesecake and cupcakes on the table.",
    "Cows, oxen and cattle graze near the sheep.",
    "Mice ran across the keyboard, past the mouse.",
    "Geese and ducks swim in the pond.",
    "The ties are on the rack; a tie hangs from the bow.",
    "Teddy bears sit on the bed.",
    "A teddybear sits on the sofa next to a hairdryer.",
    "Traffic lights and street lights line the road; a stoplight is red.",
    "Parking meters stand beside the suit case and the suitcases.",
    "A potted plant and houseplants by the window; a vase of flowers.",
    "Giraffes, zebras and elephants at the zoo.",
    "A bird perched on the traffic signal.",
    "The policeman and the cop chat with a skateboarder.",
    "A skier and snowboarders on a mountain with skis.",
    "Surfboards on the beach; a surfer carries a longboard.",
    "The cake, the donuts and the doughnuts are on the counter.",
    "Home plate is behind the batter; the train track runs along the field.",
    "A train on the train tracks.",
    "Pizzas, sandwiches and hamburgers on a buffet.",
    "Bananas, apples, oranges, broccoli and carrots.",
    "A knife, a spoon and two forks next to the bowls.",
    "Bottles and cups on the table.",
    "A book, some books, and a clock.",
    "Scissors and a toothbrush in the sink.",
    "A toaster and an oven; a refrigerator is open.",
    "People walking with umbrellas and backpacks.",
    "A woman holding a handbag, a purse and a wallet.",
    "A kite flying above the people; kites in the sky.",
    "A tv, a television and a monitor on a desk.",
    "A remote control next to the remote.",
    "A boat, a sailboat and a ship in the harbour.",
    "Airplanes and an air plane at the airport; a jet taking off.",
    "Trucks and cars on the highway, a van and a taxi.",
    "Bicycles and bikes locked to the bench.",
    "Motorcycles, a scooter and a motorbike parked outside.",
    "A horse and ponies in the field.",
    "A bear and a panda at the zoo.",
    "Cats and kittens on the couch.",
    "A dog, puppies and a doggie in the yard.",
    "There isn't a cat here. It's a dog.",
    "Isn't that a giraffe?",
    "The man can't find his phone.",
    "A man (wearing a hat) rides a horse.",
    "\"A dog,\" she said, \"is on the bed.\"",
    "A dog...and a cat!",
    "A dog; a cat: a bird?",
    "The chef, the baker and the worker are in the kitchen.",
    "Mr. Smith holds an umbrella.",
    "A man at 5 p.m. walks his dog.",
    "The dog/cat sits on the chair.",
    "A DOG IS ON THE BED.",
    "Dog. Cat. Bird.",
    "A girl, a boy and a child play with a ball.",
    "The players on the field: a pitcher, a batter and a catcher.",
    "No dog, no cat, no person.",
    "Without any person nearby, a bench stands alone.",
    "A bus stop with no bus.",
    "Two buses and one bus.",
    "Glasses on the table next to a glass.",
    "A man wearing glasses reads a book.",
    "A couple of ducks, a swan and a goose.",
    "The stool and the seat next to the counter.",
    "A fire hydrant and hydrants on the street.",
    "A stop sign and a parking meter on the corner.",
    "A dining table with chairs around it.",
    "A laptop, a computer and a notebook on the desk.",
    "A sandwich cut in half with a sub and a burger.",
    "A bagel and a donut for breakfast.",
    "A bowl and a container of soup.",
    "A couch, a sofa and a loveseat in the living room.",
    "A bed with a dog on it and a cat under it.",
    "A clock tower over the city; the clocks show noon.",
    "A vase with flowers; vases on the shelf.",
    "A pair of scissors.",
    "A hair drier and a toothbrush in the bathroom.",
    "An urinal and a toilet in the restroom.",
    "A man on a unicycle next to a trike.",
    "The oxen pull a cart while a calf watches.",
    "A lamb and a goat near the ram.",
    "Knives on the cutting board.",
    "The leaves of the potted plant.",
    "Wolves and foxes are not coco objects, but dogs are.",
    "The people's umbrellas are open.",
    "It's a cat's toy.",
    "This is his bike.",
    "A toilet next to a bathtub, and a seat by the door.",
    "A baby bird and a baby cub.",
    "An adult horse and a baby horse.",
    "A passenger in a passenger train.",
    "A teddy bear, not a real bear.",
    "The tennis rackets are on the court.",
    "Sports balls everywhere.",
    "Wine glass, wine glasses, and a glass.",
    "Cell phones and mobile phones.",
    "Motor bikes and motor cycles.",
    "Suit cases and a suitcase.",
]


def write_jsonl(path, rows):
    with open(path, 'w') as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + '\n')


def chair_fixtures(data, out):
    coco = json.load(open(os.path.join(data, 'coco_eval/instances_val2014_100.json')))
    syn = [s.strip().split(', ') for s in open(os.path.join(data, 'chair/synonyms_rohrbach2018.txt'))]
    names = {c['id']: c['name'] for c in coco['categories']}
    gt = {im['id']: set() for im in coco['images']}
    for a in coco['annotations']:
        gt[a['image_id']].add(names[a['category_id']])
    forms = {row[0]: [w for w in row if w.strip() == w and w.lower() == w] for row in syn}
    canon = sorted(forms)
    rng = random.Random(14)
    ids = sorted(gt)
    rows = []
    for n, imid in enumerate(ids):
        objs = sorted(gt[imid])
        rng.shuffle(objs)
        said = []
        for o in objs[:3]:
            w = rng.choice(forms[o])
            said.append(('two %ss' % w) if rng.random() < 0.3 else ('a %s' % w))
        if rng.random() < 0.5:
            absent = [c for c in canon if c not in gt[imid]]
            said.append('a %s' % rng.choice(forms[rng.choice(absent)]))
        text = 'The image shows ' + ', '.join(said[:-1]) + (' and ' if len(said) > 1 else '') + said[-1] + '.'
        if rng.random() < 0.3:
            text += ' In the background there is a %s.' % rng.choice(forms[rng.choice(canon)])
        rows.append({'id': 'resp-%d' % n, 'image_id': imid, 'caption': text})
    write_jsonl(os.path.join(out, 'chair_responses.jsonl'), rows)

    hard = [{'id': 'hard-%d' % i, 'image_id': ids[i % len(ids)], 'caption': t} for i, t in enumerate(HARD)]
    k = len(hard)
    for row in syn:
        for w in row:
            hard.append({'id': 'hard-%d' % k, 'image_id': ids[k % len(ids)],
                         'caption': 'Some %ss and one %s are here.' % (w.strip(), w.strip())})
            k += 1
    write_jsonl(os.path.join(out, 'chair_hard.jsonl'), hard)

    # Reference captions for every fifth image: they add caption-mined objects ("table" -> dining table).
    refs = ['A table with a cup of coffee on it.', 'A man walks his dog past a parked car.',
            'Kids on bikes near a bus stop.', 'A kitchen with a stove and a fridge.',
            'A woman sits on a couch with her cat.', 'A plate with a sandwich and a knife.',
            'A street with a traffic light and a truck.', 'Two people stand near a bench with umbrellas.']
    anns = [{'image_id': imid, 'id': i + 1, 'caption': refs[i % len(refs)]} for i, imid in enumerate(ids[::5])]
    with open(os.path.join(out, 'chair_gt_captions.json'), 'w') as f:
        json.dump({'annotations': anns}, f, indent=0)
        f.write('\n')


AMBER_TEMPLATES = [
    "The image shows {a}. There is also {b} near {c}.",
    "In this picture, {a} and {b} are visible. I can see {c} in the background.",
    "{A} sits next to {b}. There are no {h}s in the scene.",
    "This image features {a}, {b}, and {h}.",
    "A photo of {a} with {h} and {c}; the {b} is orange and the light is bright.",
    "There is {a} on the left. Two {b}s are in the middle, and {h} is on the right.",
]


def amber_fixtures(data, out):
    ann = json.load(open(os.path.join(data, 'amber/annotations.json')))
    rel = json.load(open(os.path.join(data, 'amber/relation.json')))
    rng = random.Random(1004)
    gen = []
    for rec in ann[:1004]:
        truth, hallu = list(rec['truth']), list(rec['hallu'])
        def pick(words):
            w = rng.choice(words)
            if rel.get(w) and rng.random() < 0.3:
                w = rng.choice(rel[w])
            return w
        a, b, c = pick(truth), pick(truth), pick(truth)
        h = pick(hallu) if hallu else pick(truth)
        t = rng.choice(AMBER_TEMPLATES)
        gen.append({'id': rec['id'], 'response': t.format(a='a ' + a, A='A ' + a, b=b, c='a ' + c, h=h)})
    with open(os.path.join(out, 'amber_responses.json'), 'w') as f:
        json.dump(gen, f, indent=0)
        f.write('\n')
    disc = []
    for rec in ann[1004::7]:   # every seventh question (odd: both answers of the yes/no pairs) keeps the file small
        r = rng.random()
        ans = 'Yes' if r < 0.45 else 'No' if r < 0.9 else rng.choice(['Yes.', 'No, there is not.', 'yes', 'Not sure'])
        disc.append({'id': rec['id'], 'response': ans})
    with open(os.path.join(out, 'amber_disc.json'), 'w') as f:
        json.dump(disc, f, indent=0)
        f.write('\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default='../shared/data')
    ap.add_argument('--out', default='testdata/eval')
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    chair_fixtures(a.data, a.out)
    amber_fixtures(a.data, a.out)


if __name__ == '__main__':
    main()
