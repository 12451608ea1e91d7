using System.Runtime.InteropServices;

namespace Win7Proc.Offline.Cli;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM become cancellation of <see cref="Token"/>: commands stop at their next check, clean up
/// (no partial output) and return <see cref="ExitCodes.Interrupted"/>; <see cref="Program.Main"/> turns that into 130
/// or 143. A command blocked where it cannot check (a read from a stalled pipe) is ended after
/// <see cref="GracePeriod"/>, and at once by a second signal, after running <see cref="ForcedExitCleanup"/>.
/// PosixSignalRegistration, not Console.CancelKeyPress: the latter switches a terminal into keypad mode.
/// </summary>
public sealed class SignalCancellation : IDisposable
{
    public static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(5);

    /// <summary>Run before a forced exit (delete unfinished output, clear the progress line).</summary>
    public static event Action? ForcedExitCleanup;

    readonly CancellationTokenSource _cts = new();
    readonly PosixSignalRegistration[] _registrations;
    int _signals;

    public SignalCancellation()
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    public CancellationToken Token => _cts.Token;
    /// <summary>The first signal received, if any.</summary>
    public PosixSignal? Signal { get; private set; }
    /// <summary>128 + the signal's number: 130 for SIGINT, 143 for SIGTERM.</summary>
    public int ExitCode => Signal == PosixSignal.SIGTERM ? ExitCodes.Terminated : ExitCodes.Interrupted;

    void Handle(PosixSignalContext context)
    {
        context.Cancel = true; // we end the process ourselves, after cleaning up
        if (Interlocked.Increment(ref _signals) > 1)
        {
            ForceExit();
            return;
        }
        Signal = context.Signal;
        _cts.Cancel();
        _ = Task.Delay(GracePeriod).ContinueWith(_ => ForceExit(), TaskScheduler.Default);
    }

    void ForceExit()
    {
        try
        {
            ForcedExitCleanup?.Invoke();
            Console.Error.WriteLine(Signal == PosixSignal.SIGTERM ? "terminated: no output left behind" : "interrupted: no output left behind");
        }
        catch (Exception) { /* exiting anyway: cleanup is best effort */ }
        Environment.Exit(ExitCode);
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _cts.Dispose();
    }
}
