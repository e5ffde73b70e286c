/** An error the user caused and can fix; its message is shown as is, without a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

/** A setting an error's fix can lie in: the CLI has a flag for each, the studio a control. */
export type Setting = 'format' | 'name';

/**
 * How one surface points the user to each setting, as words that follow "choose its format":
 * the CLI's "with --format", the studio's "under Import options".
 */
export type SettingNames = Readonly<Record<Setting, string>>;

/** The API's own words for its settings, for a surface that names them no other way. */
const API_NAMES: SettingNames = { format: 'with the import\'s "format"', name: 'with the import\'s "name"' };

/**
 * A user's error whose fix is a setting. Its words are written once, with the place of the
 * setting left open: each surface fills it its own way (`namedFor`), so a message in the studio
 * never names a CLI flag and the CLI's never names a studio control.
 */
export class SettingError extends UserError {
  override name = 'SettingError';

  constructor(
    readonly setting: Setting,
    private readonly words: (where: string) => string,
  ) {
    super(words(API_NAMES[setting]));
  }

  /** The message with the setting named as `names` name it. */
  namedFor(names: SettingNames): string {
    return this.words(names[this.setting]);
  }
}

/** A user's error as one surface shows it: its message, a setting in it named that surface's way. */
export function userMessage(err: UserError, names: SettingNames): string {
  return err instanceof SettingError ? err.namedFor(names) : err.message;
}

/** The code of a Node system error (ENOENT, EACCES…), if it is one. */
export function errorCode(err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code;
}
