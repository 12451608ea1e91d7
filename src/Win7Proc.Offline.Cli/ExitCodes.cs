namespace Win7Proc.Offline.Cli;

/// <summary>Process exit codes, documented in README.md ("Exit codes"). Tested in ExitCodeTests.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>An unexpected internal error (a bug: please report it with the message).</summary>
    public const int InternalError = 1;
    /// <summary>Bad command line (unknown option, invalid value, options that do not go together).</summary>
    public const int UsageError = 2;
    /// <summary>An input file is missing or cannot be read, or an output cannot be written.</summary>
    public const int IoError = 3;
    /// <summary>An input is not a valid trace / plog / scenario (the message names what and where).</summary>
    public const int InvalidInput = 4;
    /// <summary>The job finished but its input was incomplete: a truncated trace (crashed or running recording).
    /// Every complete record was used and the output is valid.</summary>
    public const int PartialInput = 5;
    /// <summary><c>simulate</c>: the C recorder core (libw7rec.so) or its dependency liblz4.so.1 cannot be loaded; the
    /// message says what is missing and the command that fixes it.</summary>
    public const int RecorderUnavailable = 6;
    /// <summary>Interrupted (Ctrl+C, SIGINT); no output was left behind.</summary>
    public const int Interrupted = 130;
    /// <summary>Terminated (SIGTERM); no output was left behind.</summary>
    public const int Terminated = 143;
}
