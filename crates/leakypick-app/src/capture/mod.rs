//! Reading capture files (pcap and pcapng) into decoded packets.
