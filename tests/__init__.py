"""Tests of the WhatsApp Avatars integration."""
