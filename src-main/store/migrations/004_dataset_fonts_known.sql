-- Whether a dataset says which glyphs share a font (data/training.ts: styleSupport, judged at
-- import). Datasets imported before it was kept are judged by their counts: every glyph its own
-- font (a CSV without a font column, a plain npz) or CIFAR-10's batches know no fonts.
ALTER TABLE datasets ADD COLUMN fonts_known INTEGER NOT NULL DEFAULT 1;
UPDATE datasets SET fonts_known = 0 WHERE fonts >= count OR format = 'cifar10';
