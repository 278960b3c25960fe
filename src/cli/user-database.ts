/**
 * The system's user database (`getent passwd`, so LDAP and sssd users are found too), for the
 * operators' commands that show or take user names. No shell is involved; each answer is kept
 * for the process, so a list of many sessions asks once per owner.
 */
import { execFile } from 'node:child_process';

export interface UserDatabase {
  /** The name of `uid`, or undefined when it has no entry. */
  nameOf(uid: number): Promise<string | undefined>;
  /** The uid of the user `name`, or undefined when there is no such user. */
  uidOf(name: string): Promise<number | undefined>;
}

/** What user names may look like here (POSIX portable names, as useradd takes them). */
export const USER_NAME = /^[A-Za-z_][A-Za-z0-9._-]{0,63}\$?$/;

/** The fields of `getent passwd <key>`'s entry, or undefined when there is none. */
function passwdEntry(key: string): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    execFile('getent', ['passwd', key], { timeout: 2000 }, (error, stdout) => {
      const fields = stdout.split('\n')[0]?.split(':') ?? [];
      resolve(error || fields.length < 7 ? undefined : fields);
    });
  });
}

export function systemUserDatabase(): UserDatabase {
  const names = new Map<number, Promise<string | undefined>>();
  const uids = new Map<string, Promise<number | undefined>>();
  return {
    nameOf(uid) {
      let name = names.get(uid);
      if (!name) {
        name = passwdEntry(String(uid)).then((fields) => fields?.[0] || undefined);
        names.set(uid, name);
      }
      return name;
    },
    uidOf(name) {
      if (!USER_NAME.test(name)) return Promise.resolve(undefined);
      let uid = uids.get(name);
      if (!uid) {
        uid = passwdEntry(name).then((fields) =>
          fields?.[0] === name && /^[0-9]+$/.test(fields[2] ?? '') ? Number(fields[2]) : undefined,
        );
        uids.set(name, uid);
      }
      return uid;
    },
  };
}
