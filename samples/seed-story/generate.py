#!/usr/bin/env python3
"""Writes samples/seed-story/scenario.json: the process story of the seed document's procstory sample
(/work/shared/seed/000_8a8689100701f7f6.txt) with deterministic background activity.

Births and deaths are at exactly the seed's -b/-d instruction counts; the pre-existing processes are first run in
the seed listing's order (so the log mentions them in that order). No randomness: background activity cycles
through fixed templates. Run: python3 samples/seed-story/generate.py > samples/seed-story/scenario.json
"""
import json, sys

TOTAL = 9349975980
SYS = "C:\\Windows\\system32\\"

# Pre-existing processes in the seed listing's order: (pid, image, cmdline, ppid). procstory also takes parents from
# EPROCESS ppids, while the seed's chart (whose procstory knew parents only from creation events) draws every
# pre-existing process as a root; so no ppid below names a process of this story. Where the real parent is in the
# story (services 408 for svchost, SearchIndexer 780 for its hosts, csrss for conhost, cmd for choice), the ppid is
# wininit's 396 instead, a process that exists but never runs in this recording.
PRE = [
    (1732, SYS + "svchost.exe", SYS + "svchost.exe -k LocalServiceNoNetwork", 396),
    (1820, SYS + "SearchProtocolHost.exe", SYS + "SearchProtocolHost.exe Global\\UsGthrFltPipeMssGthrPipe1", 396),
    (824, SYS + "svchost.exe", SYS + "svchost.exe -k netsvcs", 396),
    (796, SYS + "svchost.exe", SYS + "svchost.exe -k LocalSystemNetworkRestricted", 396),
    (780, SYS + "SearchIndexer.exe", SYS + "SearchIndexer.exe /Embedding", 396),
    (1048, SYS + "svchost.exe", SYS + "svchost.exe -k LocalServiceAndNoImpersonation", 396),
    (1232, "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", 1196),
    (1208, SYS + "svchost.exe", SYS + "svchost.exe -k NetworkService", 396),
    (664, SYS + "svchost.exe", SYS + "svchost.exe -k RPCSS", 396),
    (424, SYS + "lsass.exe", SYS + "lsass.exe", 396),
    (284, SYS + "csrss.exe", "%SystemRoot%\\system32\\csrss.exe ObjectDirectory=\\Windows SharedSection=1024,12288,512 Windows=On SubSystemType=Windows ServerDll=basesrv,1 ServerDll=winsrv:UserServerDllInitialization,3 ServerDll=winsrv:ConServerDllInitialization,2 ServerDll=sxssrv,4 ProfileControl=Off MaxRequestThreads=16", 276),
    (1236, SYS + "dwm.exe", "\"C:\\Windows\\system32\\Dwm.exe\"", 396),
    (932, SYS + "svchost.exe", SYS + "svchost.exe -k LocalSystemNetworkRestricted", 396),
    (360, SYS + "winlogon.exe", "winlogon.exe", 324),
    (332, SYS + "csrss.exe", "%SystemRoot%\\system32\\csrss.exe ObjectDirectory=\\Windows SharedSection=1024,12288,512 Windows=On SubSystemType=Windows", 324),
    (616, SYS + "svchost.exe", SYS + "svchost.exe -k LocalService", 396),
    (408, SYS + "services.exe", SYS + "services.exe", 396),
    (432, SYS + "lsm.exe", SYS + "lsm.exe", 396),
    (1272, SYS + "taskhost.exe", "\"taskhost.exe\"", 396),
    (540, SYS + "svchost.exe", SYS + "svchost.exe -k DcomLaunch", 396),
    (1848, SYS + "svchost.exe", SYS + "svchost.exe -k NetworkServiceNetworkRestricted", 396),
    (1748, SYS + "wbem\\WmiPrvSE.exe", SYS + "wbem\\wmiprvse.exe", 396),
    (1324, SYS + "SearchFilterHost.exe", SYS + "SearchFilterHost.exe 0 504 508 516 65536 512", 396),
    (1836, SYS + "choice.exe", "choice /t 3000 /d y", 396),
    (1876, SYS + "conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe", 396),
    (1360, SYS + "cmd.exe", "\"C:\\Windows\\system32\\cmd.exe\"", 396),
]
# The seed's "unknown1 0-unknown)-0-d5016269325" row: here a second SearchFilterHost that never runs before
# SearchIndexer (780) kills it through a process handle at 5016269325.
KILLED = (1900, SYS + "SearchFilterHost.exe", SYS + "SearchFilterHost.exe 0 520 524 532 65536 528", 396)
KILLER = 780
KILL_AT = 5016269325

# Births (creator, child pid, image, cmdline, birth, death or None) at the seed's instruction counts.
BIRTHS = [
    (1232, 428, SYS + "notepad.exe", "\"C:\\Windows\\system32\\notepad.exe\" C:\\Users\\bob\\Desktop\\todo.txt", 702390220, 5071152352),
    (1360, 1240, SYS + "cmd.exe", "C:\\Windows\\system32\\cmd.exe /c ver", 3295106704, 3359992160),
    (1360, 1672, SYS + "svchost.exe", "svchost.exe -k WerSvcGroup", 3296266508, 3797733522),
    (1360, 1580, SYS + "tasklist.exe", "tasklist /v", 3863058292, 5127955252),
    (1360, 1344, SYS + "svchost.exe", "svchost.exe -k secsvcs", 3864065823, 4801454245),
    (1360, 740, SYS + "choice.exe", "choice /t 4000 /d y", 5142012434, 9286134975),
    (540, 1240, SYS + "dllhost.exe", "C:\\Windows\\system32\\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}", 5148567550, 5976293438),
    (1232, 1316, SYS + "cmd.exe", "\"C:\\Windows\\system32\\cmd.exe\"", 5676871135, None),
    (332, 1832, SYS + "conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe", 5682605261, None),
    (824, 1968, SYS + "wbem\\WMIADAP.exe", "wmiadap.exe /F /T /R", 7155159439, 7323653668),
    (1316, 2004, SYS + "ipconfig.exe", "ipconfig /all", 8731220644, 8824826414),
    (1360, 560, SYS + "cmd.exe", "C:\\Windows\\system32\\cmd.exe /c exit", 9301579103, 9319514374),
    (1360, 1344, SYS + "svchost.exe", "svchost.exe -k secsvcs", 9311689913, None),
]
PRE_DEATHS = {1836: 3258090694}   # choice1

HKLM = "\\REGISTRY\\MACHINE"
HKCU = "\\REGISTRY\\USER\\S-1-5-21-3463664321-2923530833-3546627382-1000"
USER_PIDS = {1232, 1360, 1836, 1876, 1272, 1236}

def name_of(image):
    return image.rsplit("\\", 1)[-1].lower()

# Background activity templates: lists of (op, fields) for one process; "K" / "F" are per-activity handle names.
def activity(kind, image, n):
    base = name_of(image).replace(".exe", "")
    if kind == "reg_hklm":
        svc = ["Tcpip", "Dnscache", "WinHttpAutoProxySvc", "EventLog", "Schedule", "BITS"][n % 6]
        return [("open_key", {"root": "hklm", "path": f"SYSTEM\\CurrentControlSet\\Services\\{svc}\\Parameters", "as": "K"}),
                ("query_value_key", {"handle": "K", "value": ["Start", "DhcpDomain", "ImagePath", "Type"][n % 4]}),
                ("close", {"handle": "K"})]
    if kind == "reg_hkcu":
        return [("open_key", {"root": "hkcu", "path": "Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\Advanced", "as": "K"}),
                ("query_value_key", {"handle": "K", "value": ["Hidden", "HideFileExt", "ShowSuperHidden"][n % 3]}),
                ("enumerate_value_key", {"handle": "K", "index": n % 5}),
                ("close", {"handle": "K"})]
    if kind == "reg_abs":
        return [("open_key_ex", {"path": HKLM + "\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "as": "K"}),
                ("query_value_key", {"handle": "K", "value": ["ProductName", "CurrentBuild", "CSDVersion"][n % 3]}),
                ("close", {"handle": "K"})]
    if kind == "file_read":
        path = ["\\??\\C:\\Windows\\win.ini", f"\\??\\C:\\Windows\\system32\\{base}.exe.mui",
                "\\??\\C:\\Windows\\Prefetch\\" + base.upper() + ".EXE-1A2B3C4D.pf"][n % 3]
        return [("open_file", {"path": path, "as": "F"}),
                ("read_file", {"handle": "F", "size": 512}),
                ("close", {"handle": "F"})]
    if kind == "file_log":
        return [("create_file", {"path": f"\\??\\C:\\Windows\\Temp\\{base}-{n % 4}.log", "as": "F"}),
                ("write_file", {"handle": "F", "data": f"{base}: background entry {n}\r\n"}),
                ("close", {"handle": "F"})]
    if kind == "edb":
        return [("open_file", {"path": "\\??\\C:\\ProgramData\\Microsoft\\Search\\Data\\Applications\\Windows\\Windows.edb", "as": "F"}),
                ("write_file", {"handle": "F", "data": "ESE page"}),
                ("close", {"handle": "F"})]
    if kind == "notepad":
        return [("open_file", {"path": "\\??\\C:\\Users\\bob\\Desktop\\todo.txt", "as": "F"}),
                ("read_file", {"handle": "F", "size": 256}),
                ("close", {"handle": "F"}),
                ("open_key", {"root": "hkcu", "path": "Software\\Microsoft\\Notepad", "as": "K"}),
                ("set_value_key", {"handle": "K", "value": "iWindowPosX", "type": "REG_DWORD", "data": str(80 + n % 40)}),
                ("close", {"handle": "K"})]
    if kind == "cmd":
        return [("open_key", {"root": "hkcu", "path": "Software\\Microsoft\\Command Processor", "as": "K"}),
                ("query_value_key", {"handle": "K", "value": "AutoRun"}),
                ("close", {"handle": "K"}),
                ("open_file", {"path": "\\??\\C:\\Users\\bob", "as": "F"}),
                ("syscall", {"name": "NtQueryDirectoryFile"}),
                ("close", {"handle": "F"})]
    return [("syscall", {"name": ["NtQueryInformationProcess", "NtWaitForSingleObject", "NtQuerySystemInformation",
                                   "NtDelayExecution", "NtQueryPerformanceCounter"][n % 5]})]

def kinds_for(pid, image):
    b = name_of(image)
    if pid == 428: return ["notepad", "file_read", "other"]
    if b == "cmd.exe": return ["cmd", "file_read", "other"]
    if b == "explorer.exe": return ["reg_hkcu", "file_read", "other", "reg_abs"]
    if b == "searchindexer.exe": return ["edb", "reg_hklm", "other"]
    if b == "svchost.exe": return ["reg_hklm", "file_log", "other", "reg_abs"]
    if pid in USER_PIDS: return ["reg_hkcu", "other", "file_read"]
    return ["reg_hklm", "other", "file_read"]

def main():
    images = {p[0]: p[1] for p in PRE}
    processes = []
    for pid, image, cmd, ppid in PRE + [KILLED]:
        handles = [{"as": "hklm", "key": HKLM}]
        if pid in USER_PIDS: handles.append({"as": "hkcu", "key": HKCU})
        processes.append({"pid": pid, "ppid": ppid, "image": image, "cmdline": cmd, "handles": handles})

    key_events = []   # (instr, event) that must be exactly placed
    for creator, child, image, cmd, birth, death in BIRTHS:
        key_events.append({"instr": birth, "pid": creator, "op": "create_process", "child_pid": child,
                           "image": image, "cmdline": cmd, "as": f"p{child}", "normalized": child % 2 == 0})
        if death is not None:
            key_events.append({"instr": death, "pid": child, "op": "terminate_process"})
    for pid, at in PRE_DEATHS.items():
        key_events.append({"instr": at, "pid": pid, "op": "terminate_process"})
    key_events.append({"instr": KILL_AT - 400000, "pid": KILLER, "op": "open_process", "target_pid": KILLED[0], "as": "victim"})
    key_events.append({"instr": KILL_AT, "pid": KILLER, "op": "terminate_process", "process": "victim", "exit_status": 1})
    key_events.append({"instr": KILL_AT + 300000, "pid": KILLER, "op": "close", "handle": "victim"})

    # Who is alive when (instances, with a margin around births and deaths).
    windows = [(pid, 0, PRE_DEATHS.get(pid, TOTAL)) for pid, *_ in PRE]
    for creator, child, image, cmd, birth, death in BIRTHS:
        images.setdefault(child, image)
        windows.append((child, birth, death if death is not None else TOTAL))
    child_images = {(c[1], c[4]): c[2] for c in BIRTHS}

    events = [{"instr": 1000 + 100 * i, "pid": pid, "op": "switch"} for i, (pid, *_) in enumerate(PRE)]
    # Background: one activity per slot, spread over the replay, avoiding the exact key instants.
    key_instrs = sorted(e["instr"] for e in key_events)
    slots = 170
    step = 1000
    background = []
    for s in range(slots):
        t0 = 20_000_000 + s * (TOTAL - 60_000_000) // slots
        alive = [w for w in windows if w[1] + 2_000_000 < t0 and t0 + 5_000_000 < w[2]]
        pid, birth, _ = alive[(s * 7) % len(alive)]
        image = child_images.get((pid, birth), images.get(pid))
        kinds = kinds_for(pid, image)
        steps = activity(kinds[s % len(kinds)], image, s)
        # Some activities run on a second thread of the process.
        tid = pid + 8 if s % 11 == 5 else None
        for j, (op, fields) in enumerate(steps):
            if birth > 0 and "root" in fields:   # created processes have no pre-existing root keys: absolute path
                fields = dict(fields)
                fields["path"] = {"hklm": HKLM, "hkcu": HKCU}[fields.pop("root")] + "\\" + fields["path"]
            ev = {"instr": t0 + j * 250_000 + (s * 37) % 1000, "pid": pid, "op": op}
            if tid is not None: ev["tid"] = tid
            ev.update(fields)
            background.append(ev)
    for ev in background:
        assert all(abs(ev["instr"] - k) > 1000 for k in key_instrs), ev
    events += sorted(key_events + background, key=lambda e: e["instr"])
    # Context-switch noise: the idle explorer thread runs between some slots.
    scenario = {
        "format": 1,
        "name": "seed-story",
        "description": "The process story of the seed document's procstory sample (births, deaths, parents and instruction counts as in its tree listing), with background file and registry activity. Generated by generate.py.",
        "total_instr": TOTAL,
        "processes": processes,
        "events": events,
    }
    json.dump(scenario, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")

main()
