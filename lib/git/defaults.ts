// Names git gives things when the user names none; imported by the CLI's help, so it imports nothing.
export const DEFAULT_REMOTE = 'origin'
