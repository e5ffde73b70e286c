// The data.pkl of a torch.save checkpoint, read as data only. Python's pickle is a small stack
// machine whose GLOBAL and REDUCE opcodes import and call any function a file names, so loading
// an untrusted checkpoint with pickle runs its author's code. This reader runs nothing: it knows
// the opcodes a state dict is written with (and the numbers, strings, lists and dictionaries of a
// checkpoint that wraps one), and stands in for the only three kinds of global a state dict names:
//   collections.OrderedDict            → an empty dictionary
//   torch._utils._rebuild_tensor_v2    → a tensor record: storage, offset, shape, strides
//   torch.FloatStorage (and its kin)   → a dtype tag inside a storage's persistent id
// Any other global is refused by name before anything else happens.
import { UserError } from '../errors.ts';

/** A dictionary (dict or OrderedDict); keys are strings or numbers, as state and optimizer dicts have. */
export class PickleDict {
  readonly entries = new Map<string | number, PickleValue>();
}

export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A storage named by a persistent id: the zip entry data/<key> holds its bytes. */
export interface StorageRef {
  readonly kind: 'storage';
  readonly dtype: string;
  readonly key: string;
  readonly numel: number;
}

/** What torch._utils._rebuild_tensor_v2 would build, as a description. */
export interface TensorRecord {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

export type PickleValue = null | boolean | number | string | Uint8Array | PickleValue[] | PickleTuple | PickleDict | StorageRef | TensorRecord | Stand;

/** A global this reader stands in for. */
class Stand {
  constructor(
    readonly name: string,
    readonly role: 'dict' | 'tensor' | 'storage-type',
    readonly dtype = '',
  ) {}
}

/** torch's storage classes (the dtype tag of a storage's persistent id), by safetensors' dtype names. */
const STORAGE_TYPES: Readonly<Record<string, string>> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

function stand(module: string, name: string): Stand | null {
  if (module === 'collections' && name === 'OrderedDict') return new Stand('collections.OrderedDict', 'dict');
  if (module === 'torch._utils' && name === '_rebuild_tensor_v2') return new Stand('torch._utils._rebuild_tensor_v2', 'tensor');
  if (module === 'torch' && Object.hasOwn(STORAGE_TYPES, name)) return new Stand(`torch.${name}`, 'storage-type', STORAGE_TYPES[name]);
  return null;
}

/** Opcodes by byte, for the ones read here and the names of those refused. */
const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32,
  BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, BINFLOAT: 0x47,
  NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89,
  BINSTRING: 0x54, SHORT_BINSTRING: 0x55, BINUNICODE: 0x58, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d,
  BINBYTES: 0x42, SHORT_BINBYTES: 0x43,
  EMPTY_TUPLE: 0x29, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  EMPTY_LIST: 0x5d, LIST: 0x6c, APPEND: 0x61, APPENDS: 0x65,
  EMPTY_DICT: 0x7d, DICT: 0x64, SETITEM: 0x73, SETITEMS: 0x75,
  BINPUT: 0x71, LONG_BINPUT: 0x72, MEMOIZE: 0x94, BINGET: 0x68, LONG_BINGET: 0x6a,
  GLOBAL: 0x63, STACK_GLOBAL: 0x93, REDUCE: 0x52, BUILD: 0x62, BINPERSID: 0x51,
  PROTO: 0x80, FRAME: 0x95,
} as const;

const REFUSED_NAMES: Readonly<Record<number, string>> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4',
  0x50: 'PERSID', 0x46: 'FLOAT', 0x49: 'INT', 0x4c: 'LONG', 0x53: 'STRING', 0x56: 'UNICODE', 0x67: 'GET', 0x70: 'PUT',
  0x8b: 'LONG4', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Limits no state dict comes near; a file past them is refused rather than let grow memory. */
const MAX_STACK = 1_000_000;

/**
 * The value a pickle builds, with tensors as records. `where` names the file in messages
 * ("ckpt.pt (archive/data.pkl)").
 */
export function readPickle(bytes: Uint8Array, where: string): PickleValue {
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const refuse = (why: string) => new UserError(`${where} is refused: ${why}`);
  const damaged = (why: string) => new UserError(`${where} is damaged: ${why}`);
  let pos = 0;
  let stack: PickleValue[] = [];
  const marks: PickleValue[][] = [];
  const memo = new Map<number, PickleValue>();

  const need = (n: number) => {
    if (pos + n > bytes.length) throw damaged('its pickle ends in the middle of an instruction (the file is truncated)');
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), data.getUint16(pos - 2, true));
  const i32 = () => (need(4), (pos += 4), data.getInt32(pos - 4, true));
  const u32 = () => (need(4), (pos += 4), data.getUint32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = data.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) throw damaged('a length in its pickle runs past the end of the file');
    return Number(v);
  };
  const take = (n: number) => (need(n), bytes.subarray((pos += n) - n, pos));
  const text = (n: number) => Buffer.from(take(n)).toString('utf8');
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw damaged('its pickle ends in the middle of a global name');
    const s = Buffer.from(bytes.subarray(pos, end)).toString('utf8');
    pos = end + 1;
    return s;
  };
  const push = (v: PickleValue) => {
    if (stack.length >= MAX_STACK) throw refuse('its pickle builds more values at once than any checkpoint does');
    stack.push(v);
  };
  const pop = (): PickleValue => {
    if (stack.length === 0) throw damaged('its pickle takes a value from an empty stack');
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) throw damaged('its pickle uses a value from an empty stack');
    return stack[stack.length - 1];
  };
  const popMark = (): PickleValue[] => {
    const items = stack;
    const outer = marks.pop();
    if (!outer) throw damaged('its pickle closes a group it never opened');
    stack = outer;
    return items;
  };
  const global = (module: string, name: string): Stand => {
    const found = stand(module, name);
    if (!found) {
      throw refuse(
        `its pickle asks for ${module}.${name}, which Fontloom never loads or calls. A checkpoint of weights needs only ` +
          'tensors in dictionaries: save the state dict (torch.save(model.state_dict(), path)), not a model or other objects',
      );
    }
    return found;
  };
  const setItems = (target: PickleValue, items: readonly PickleValue[]) => {
    if (!(target instanceof PickleDict)) throw refuse('its pickle sets items on something that is not a dictionary');
    if (items.length % 2 !== 0) throw damaged('its pickle sets a key without a value');
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (typeof key !== 'string' && typeof key !== 'number') throw refuse('its pickle uses a dictionary key that is not a string or a number');
      target.entries.set(key, items[i + 1]);
    }
  };
  const append = (target: PickleValue, items: readonly PickleValue[]) => {
    if (!Array.isArray(target)) throw refuse('its pickle appends to something that is not a list');
    target.push(...items);
  };
  const int = (v: PickleValue, what: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw refuse(`a tensor's ${what} is not a whole number ≥ 0`);
    return v;
  };
  const ints = (v: PickleValue, what: string): number[] => {
    if (!(v instanceof PickleTuple)) throw refuse(`a tensor's ${what} is not a tuple`);
    return v.items.map((x) => int(x, what));
  };
  const storageOf = (pid: PickleValue): StorageRef => {
    const items = pid instanceof PickleTuple ? pid.items : [];
    const [tag, type, key, , numel] = items;
    if (items.length !== 5 || tag !== 'storage' || !(type instanceof Stand) || type.role !== 'storage-type' || typeof key !== 'string') {
      throw refuse('its pickle names a persistent object that is not a tensor storage');
    }
    return { kind: 'storage', dtype: type.dtype, key, numel: int(numel, 'storage size') };
  };
  const reduce = (callable: PickleValue, args: PickleValue): PickleValue => {
    if (!(callable instanceof Stand) || !(args instanceof PickleTuple)) throw refuse('its pickle calls something other than a dictionary or a tensor');
    if (callable.role === 'dict') {
      if (args.items.length !== 0) throw refuse('its pickle builds an OrderedDict from arguments, which torch.save never does');
      return new PickleDict();
    }
    if (callable.role === 'tensor') {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      const [storage, offset, size, stride] = args.items;
      if (args.items.length < 6 || args.items.length > 7 || !isStorage(storage)) throw refuse('its pickle rebuilds a tensor from arguments torch.save never writes');
      const shape = ints(size, 'shape');
      const strides = ints(stride, 'stride');
      if (shape.length !== strides.length) throw refuse("a tensor's shape and strides differ in length");
      return { kind: 'tensor', storage, offset: int(offset, 'storage offset'), shape, stride: strides };
    }
    throw refuse(`its pickle asks to call ${callable.name}, which Fontloom never calls`);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case OP.PROTO:
        if (u8() > 5) throw refuse('its pickle uses a protocol newer than Python writes');
        break;
      case OP.FRAME:
        u64();
        break;
      case OP.STOP: {
        const result = pop();
        if (stack.length !== 0 || marks.length !== 0) throw damaged('its pickle stops with values left over');
        return result;
      }
      case OP.MARK:
        marks.push(stack);
        stack = [];
        break;
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        push(top());
        break;
      case OP.NONE:
        push(null);
        break;
      case OP.NEWTRUE:
        push(true);
        break;
      case OP.NEWFALSE:
        push(false);
        break;
      case OP.BININT:
        push(i32());
        break;
      case OP.BININT1:
        push(u8());
        break;
      case OP.BININT2:
        push(u16());
        break;
      case OP.LONG1: {
        const n = u8();
        let v = 0n;
        const b = take(n);
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw refuse('its pickle holds an integer too large for a checkpoint');
        push(Number(v));
        break;
      }
      case OP.BINFLOAT:
        need(8);
        push(data.getFloat64(pos, false));
        pos += 8;
        break;
      case OP.SHORT_BINSTRING:
      case OP.SHORT_BINUNICODE:
        push(text(u8()));
        break;
      case OP.BINSTRING:
      case OP.BINUNICODE:
        push(text(u32()));
        break;
      case OP.BINUNICODE8:
        push(text(u64()));
        break;
      case OP.SHORT_BINBYTES:
        push(take(u8()).slice());
        break;
      case OP.BINBYTES:
        push(take(u32()).slice());
        break;
      case OP.EMPTY_TUPLE:
        push(new PickleTuple([]));
        break;
      case OP.TUPLE:
        push(new PickleTuple(popMark()));
        break;
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const n = op - OP.TUPLE1 + 1;
        if (stack.length < n) throw damaged('its pickle builds a tuple from too few values');
        push(new PickleTuple(stack.splice(stack.length - n, n)));
        break;
      }
      case OP.EMPTY_LIST:
        push([]);
        break;
      case OP.LIST:
        push(popMark());
        break;
      case OP.APPEND: {
        const v = pop();
        append(top(), [v]);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        append(top(), items);
        break;
      }
      case OP.EMPTY_DICT:
        push(new PickleDict());
        break;
      case OP.DICT: {
        const d = new PickleDict();
        setItems(d, popMark());
        push(d);
        break;
      }
      case OP.SETITEM: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case OP.BINPUT:
        memo.set(u8(), top());
        break;
      case OP.LONG_BINPUT:
        memo.set(u32(), top());
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINGET:
      case OP.LONG_BINGET: {
        const key = op === OP.BINGET ? u8() : u32();
        if (!memo.has(key)) throw damaged(`its pickle recalls value ${key}, which it never stored`);
        push(memo.get(key)!);
        break;
      }
      case OP.GLOBAL: {
        const module = line();
        push(global(module, line()));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw damaged('its pickle names a global with something other than strings');
        push(global(module, name));
        break;
      }
      case OP.BINPERSID:
        push(storageOf(pop()));
        break;
      case OP.REDUCE: {
        const args = pop();
        push(reduce(pop(), args));
        break;
      }
      case OP.BUILD: {
        // OrderedDict's state is its __dict__ (a state dict's _metadata: module versions): not needed.
        pop();
        if (!(top() instanceof PickleDict)) throw refuse('its pickle sets the state of an object, which a state dict never holds');
        break;
      }
      default: {
        const name = REFUSED_NAMES[op];
        throw name
          ? refuse(`its pickle uses the ${name} instruction (byte ${at}), which a state dict never needs`)
          : damaged(`byte ${at} of its pickle (0x${op.toString(16).padStart(2, '0')}) is no pickle instruction`);
      }
    }
  }
}

function isStorage(v: PickleValue): v is StorageRef {
  return typeof v === 'object' && v !== null && 'kind' in v && v.kind === 'storage';
}

export function isTensorRecord(v: PickleValue): v is TensorRecord {
  return typeof v === 'object' && v !== null && 'kind' in v && v.kind === 'tensor';
}
