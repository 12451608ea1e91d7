using System.Linq.Expressions;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Win7Proc.Offline.Pandalog.Schema;

namespace Win7Proc.Offline.Pandalog;

/// <summary>
/// Checks proto2 <c>required</c> fields of a LogEntry, which Google.Protobuf's C# parser and serialiser do not enforce
/// but PANDA's C++ reader does. The check is compiled from the schema's descriptors once (property reads, no
/// reflection per entry): the reflective <c>IsInitialized()</c> costs several times what parsing does.
/// </summary>
public static class RequiredFields
{
    static readonly Func<LogEntry, bool> s_check = Build<LogEntry>(LogEntry.Descriptor, depth: 0);

    /// <summary>True when every required field of the entry and of its set sub-messages is present.</summary>
    public static bool AreSet(LogEntry entry) => s_check(entry);

    /// <summary>Dotted path of the first missing required field (for messages), or null.</summary>
    public static string? FirstMissing(IMessage message, string prefix = "")
    {
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            if (field.IsRepeated) continue;
            bool has = field.Accessor.HasValue(message);
            if (field.IsRequired && !has) return prefix + field.Name;
            if (has && field.FieldType == FieldType.Message
                && FirstMissing((IMessage)field.Accessor.GetValue(message), prefix + field.Name + ".") is { } inner)
                return inner;
        }
        return null;
    }

    static Func<T, bool> Build<T>(MessageDescriptor descriptor, int depth)
    {
        var message = Expression.Parameter(typeof(T), "m");
        return Expression.Lambda<Func<T, bool>>(Body(message, descriptor, depth), message).Compile();
    }

    static Expression Body(Expression message, MessageDescriptor descriptor, int depth)
    {
        if (depth > 8) throw new InvalidOperationException($"schema nests deeper than 8 at {descriptor.FullName}");
        Expression all = Expression.Constant(true);
        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            if (field.IsRepeated) continue;
            var type = message.Type;
            var value = Expression.Property(message, type.GetProperty(field.PropertyName)!);
            if (field.FieldType == FieldType.Message)
            {
                var isNull = Expression.Equal(value, Expression.Constant(null, value.Type));
                var inner = Body(value, field.MessageType, depth + 1);
                all = Expression.AndAlso(all, field.IsRequired
                    ? Expression.AndAlso(Expression.Not(isNull), inner)
                    : Expression.OrElse(isNull, inner));
            }
            else if (field.IsRequired)
            {
                all = Expression.AndAlso(all, Expression.Property(message, type.GetProperty("Has" + field.PropertyName)!));
            }
        }
        return all;
    }
}
