namespace Win7Proc.Offline.Simulator;

/// <summary>A scenario file that is malformed or inconsistent (unknown op or field, unknown handle, dead process,
/// decreasing instr...). The message names the source, the event index and the problem.</summary>
public sealed class ScenarioException : Exception
{
    public ScenarioException(string message) : base(message) { }
    public ScenarioException(string message, Exception inner) : base(message, inner) { }

    /// <summary>True when the message already names the source and event (so it is not wrapped again).</summary>
    internal bool Located { get; init; }
}
